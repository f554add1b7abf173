"""A/B of one static lever: a case's population at each value of one setting, interleaved.

`python benchmarks/levers.py lstm 64 128 --K 8 --lever unroll --values 1 2 4 8 --rounds 3`

Each round measures the population once per value, each in its own process (as the
throughput benchmark does), so every round compares values measured a minute apart on
this drifting machine; the report gives each round's config-steps/s and compile seconds,
and the median over rounds of each value's rate relative to the first value's. Levers are
the keys of a measurement case that change the compiled program, not the math: `unroll`
(the recurrent scans' unroll, budget.unroll), `chunk` (configs computed together),
`fused_backward` (the hand-written backward of the recurrence).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from jaxtune.bench.harness import QUICK, Settings, case_of, measurement_args, run_measurement
from jaxtune.bench.interleaved import case_parser, parse_case_args

LEVERS = {"unroll": int, "chunk": lambda v: v if v in ("auto", "all") else int(v)}
LEVERS["fused_backward"] = lambda v: {"true": True, "false": False}[v.lower()]


def run_levers(
    settings: Settings,
    architecture: str,
    batch: int,
    hidden: int,
    width: int,
    lever: str,
    values: list[Any],
    rounds: int,
    log=print,
) -> dict[str, Any]:
    case, _, flops = case_of(settings, architecture, batch, hidden)
    common = measurement_args(settings, case)
    measured = []
    for index in range(rounds):
        entry = {"round": index, "rows": {}}
        for value in values:
            payload = {**common, "case": {**case, lever: value}, "K": width}
            result, _ = run_measurement("population", payload, settings.timeout)
            if "error" in result:
                raise SystemExit(f"levers: round {index} {lever}={value}: {result['error']}")
            entry["rows"][str(value)] = {
                "config_steps_per_s": result["config_steps_per_s"],
                "compile_s": result["compile_s"],
            }
        base = entry["rows"][str(values[0])]["config_steps_per_s"]
        for row in entry["rows"].values():
            row["vs_first"] = row["config_steps_per_s"] / base
        log(
            f"round {index}: "
            + ", ".join(
                f"{lever}={value} {row['config_steps_per_s']:.1f} config-steps/s "
                f"(compile {row['compile_s']:.1f} s)"
                for value, row in entry["rows"].items()
            )
        )
        measured.append(entry)
    median = {
        str(value): {
            key: float(np.median([entry["rows"][str(value)][key] for entry in measured]))
            for key in ("config_steps_per_s", "compile_s", "vs_first")
        }
        for value in values
    }
    return {
        "case": case,
        "K": width,
        "lever": lever,
        "values": values,
        "flops_per_config_step": flops,
        "settings": {k: v for k, v in vars(settings).items()},
        "rounds": measured,
        "median": median,
    }


def markdown(report: dict[str, Any]) -> str:
    case, lever = report["case"], report["lever"]
    values = [str(v) for v in report["values"]]
    lines = [
        f"{case['architecture']} B={case['batch_size']} H={case['hidden_size']}, population "
        f"K={report['K']}: config-steps/s (compile s) at each {lever}, interleaved by round.",
        "",
        "| round | " + " | ".join(f"{lever}={v}" for v in values) + " |",
        "|---|" + "---|" * len(values),
    ]
    for entry in report["rounds"]:
        cells = [
            f"{entry['rows'][v]['config_steps_per_s']:.1f} ({entry['rows'][v]['compile_s']:.1f})"
            for v in values
        ]
        lines.append(f"| {entry['round']} | " + " | ".join(cells) + " |")
    median = report["median"]
    cells = [
        f"{median[v]['config_steps_per_s']:.1f} ({median[v]['compile_s']:.1f}), "
        f"{median[v]['vs_first']:.2f}x"
        for v in values
    ]
    lines.append("| median, x first | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = case_parser(__doc__.splitlines()[0], width=8, out=Path("benchmarks/results/levers"))
    parser.add_argument("--lever", choices=sorted(LEVERS), default="unroll")
    parser.add_argument("--values", nargs="+", required=True)
    args = parse_case_args(parser, argv)
    try:
        values = [LEVERS[args.lever](value) for value in args.values]
    except (ValueError, KeyError):
        parser.error(f"--values: not values of {args.lever}: {' '.join(args.values)}")
    settings = QUICK if args.quick else Settings()
    report = run_levers(
        settings,
        args.architecture,
        args.batch,
        args.hidden,
        args.K,
        args.lever,
        values,
        args.rounds,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"{args.architecture}_b{args.batch}_h{args.hidden}_k{args.K}_{args.lever}"
    (args.out / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    text = markdown(report)
    (args.out / f"{name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
