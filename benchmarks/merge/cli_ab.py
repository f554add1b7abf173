"""`budget.merge` none against auto, back to back from the CLI, on the two studies of
issue 34: the emotion one-at-a-time study and a 64-config random sweep.

    python benchmarks/merge/cli_ab.py --data-dir ../shared/data --epochs 3 --out runs/merge_ab

Each study runs once per mode in a fresh `jaxtune sweep` process (imports, data, every
compile counted), the order alternating between studies. The spec's `train.epochs` is
replaced by `--epochs` so both modes fit in a session; everything else is the spec's.
Writes `cli_ab.json` (wall seconds, programs, configs finished, best and per-config
validation accuracy) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

STUDIES = {
    "emotion_gru_one_at_a_time": "experiments/emotion_gru_one_at_a_time.yaml",
    "emotion_random_64": "benchmarks/merge/emotion_random_64.yaml",
}


def run(spec_path: str, mode: str, epochs: int, out: Path, data_dir: str) -> dict:
    spec = yaml.safe_load(Path(spec_path).read_text())
    spec["train"] = {**spec.get("train", {}), "epochs": epochs}
    spec["budget"] = {**spec.get("budget", {}), "merge": mode}
    directory = out / f"{spec['name']}_{mode}"
    path = out / f"{spec['name']}_{mode}.yaml"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec))
    jaxtune = str(Path(sys.executable).parent / "jaxtune")
    command = [jaxtune, "sweep", str(path), "--out", str(directory)]
    command += ["--overwrite", "--data-dir", data_dir]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    records = [json.loads(line) for line in (directory / "results.jsonl").read_text().splitlines()]
    best = {r["trial_id"]: (r.get("best") or {}).get("val_accuracy") for r in records}
    return {
        "study": spec["name"],
        "merge": mode,
        "epochs": epochs,
        "wall_s": wall,
        "programs": len({r["group"] for r in records}),
        "configs": len(records),
        "best_val_accuracy": max(v for v in best.values() if v is not None),
        "val_accuracy_by_trial": best,
        "plan_line": next(
            (line.strip() for line in done.stdout.splitlines() if "budget.merge" in line), ""
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/merge_ab"))
    parser.add_argument("--json", type=Path, default=Path("benchmarks/merge/cli_ab.json"))
    args = parser.parse_args()
    rows = []
    for index, path in enumerate(STUDIES.values()):
        modes = ("none", "auto") if index % 2 == 0 else ("auto", "none")
        for mode in modes:
            rows.append(run(path, mode, args.epochs, args.out, args.data_dir))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "val_accuracy_by_trial"}))
            args.json.write_text(json.dumps(rows, indent=1) + "\n")
    print("| study | merge | programs | configs | wall s | best val accuracy |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['study']} | {row['merge']} | {row['programs']} | {row['configs']} "
            f"| {row['wall_s']:.0f} | {row['best_val_accuracy']:.4f} |"
        )


if __name__ == "__main__":
    main()
