"""Where a population's step time goes: a `jax.profiler` trace of whole-epoch calls, by source.

`python benchmarks/profile_step.py lstm 64 128 --K 8 [--chunk 1|all] [--embedding-update lazy]`
traces a few compiled epochs of the throughput benchmark's population (the same program,
`measure.PopulationEpochs`) and attributes every executed HLO op's self time to the
Python function that built it, read from the op's stack-frame metadata in the compiled
HLO: `models/cells.py:lstm_backward`, `optax <- population/step.py:train_step`, ... It prints the
share of each source and the top ops, each GEMM shape's time and FLOP rate, and the rate
the GEMMs alone would allow (every other op free), and writes the same as JSON.

XLA CPU emits one trace event per executed op only with
`--xla_cpu_enable_xprof_traceme=true`, which must be set before jax starts: the CLI sets
it, so run this in its own process.
"""

from __future__ import annotations

import collections
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jaxtune.bench.hlo import (
    Gemm,
    fused_dots,
    gemm_fusions,
    op_frames,
    op_kind,
    source_label,
    stack_frames,
)

TRACE_FLAG = "--xla_cpu_enable_xprof_traceme=true"


def self_times(events: list[dict[str, Any]]) -> dict[str, float]:
    """Microseconds per HLO op in a Chrome trace, minus the ops nested inside it (a while
    loop's body, a conditional's branch), so each op counts once."""
    by_thread = collections.defaultdict(list)
    for event in events:
        if event.get("ph") == "X" and "hlo_op" in event.get("args", {}):
            by_thread[(event["pid"], event["tid"])].append(event)
    totals: dict[str, float] = collections.Counter()
    for thread_events in by_thread.values():
        thread_events.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack: list[dict[str, Any]] = []
        for event in thread_events:
            while stack and event["ts"] >= stack[-1]["ts"] + stack[-1]["dur"]:
                stack.pop()
            totals[event["args"]["hlo_op"]] += event["dur"]
            if stack:
                totals[stack[-1]["args"]["hlo_op"]] -= event["dur"]
            stack.append(event)
    return dict(totals)


def op_counts(events: list[dict[str, Any]]) -> dict[str, int]:
    """Executions per HLO op in a Chrome trace."""
    return dict(
        collections.Counter(
            event["args"]["hlo_op"]
            for event in events
            if event.get("ph") == "X" and "hlo_op" in event.get("args", {})
        )
    )


def gemm_summary(
    times: dict[str, float], counts: dict[str, int], gemms: dict[str, Gemm], config_steps: int
) -> list[dict[str, Any]]:
    """Per GEMM signature: microseconds per config-step and GFLOP/s while it ran (its FLOPs
    over its own op time), slowest first."""
    by_signature: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    for op, gemm in gemms.items():
        if op in times:
            by_signature[gemm.signature][0] += times[op]
            by_signature[gemm.signature][1] += gemm.flops * counts.get(op, 0)
    return [
        {
            "signature": signature,
            "us_per_config_step": micros / config_steps,
            "gflops_while_running": flops / micros / 1e3 if micros else 0.0,
        }
        for signature, (micros, flops) in sorted(by_signature.items(), key=lambda i: -i[1][0])
    ]


def attribute(times: dict[str, float], hlo_text: str) -> dict[str, float]:
    """Self microseconds per source label; GEMM fusions without metadata by their shapes,
    `(GEMM f32[..] x f32[..] -> ..)`, other ops without it by their kind, `(XLA copy)`."""
    frames, ops, dots = stack_frames(hlo_text), op_frames(hlo_text), fused_dots(hlo_text)
    by_source: dict[str, float] = collections.Counter()
    for op, micros in times.items():
        if op in ops:
            label = source_label(frames, ops[op])
        elif op in dots:
            label = f"(GEMM {dots[op]})"
        else:
            label = f"(XLA {op_kind(op)})"
        by_source[label] += micros
    return dict(by_source)


def _read_trace(directory: str) -> list[dict[str, Any]]:
    (path,) = list(Path(directory).rglob("perfetto_trace.json.gz"))
    trace = json.loads(gzip.open(path).read())
    return trace["traceEvents"] if isinstance(trace, dict) else trace


def profile(case: dict[str, Any], width: int, steps: int, epochs: int = 3) -> dict[str, Any]:
    """Trace `epochs` compiled epochs of a population and attribute their op time."""
    import jax

    from jaxtune.bench.measure import PopulationEpochs, resolve_chunk

    population = PopulationEpochs(case, width, steps)
    jax.block_until_ready(population.call())  # warm
    start = time.perf_counter()
    jax.block_until_ready(population.call())
    seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as directory:
        with jax.profiler.trace(directory, create_perfetto_trace=True):
            for _ in range(epochs):
                metrics = population.call()
            jax.block_until_ready(metrics)
        events = _read_trace(directory)
    config_steps = epochs * width * steps
    times = self_times(events)
    text = population.compiled.as_text()
    by_source = attribute(times, text)
    total = sum(by_source.values())
    gemms = gemm_summary(times, op_counts(events), gemm_fusions(text), config_steps)
    gemm_share = sum(row["us_per_config_step"] for row in gemms) * config_steps / total
    config_steps_per_s = width * steps / seconds  # one untraced epoch

    def rows(table, count):
        ordered = sorted(table.items(), key=lambda item: -item[1])[:count]
        return [
            {"name": name, "us_per_config_step": micros / config_steps, "share": micros / total}
            for name, micros in ordered
        ]

    return {
        "case": case,
        "K": width,
        "chunk": resolve_chunk(case),
        "steps_per_epoch": steps,
        "epochs_traced": epochs,
        "config_steps_per_s": config_steps_per_s,
        "op_us_per_config_step": total / config_steps,
        "gemm_share": gemm_share,
        # The untraced rate if every op but the GEMMs took no time: what the GEMMs alone allow.
        "gemm_bound_config_steps_per_s": config_steps_per_s / gemm_share if gemm_share else None,
        "gemms": gemms,
        "sources": rows(by_source, len(by_source)),
        "top_ops": rows(times, 25),
    }


def render(result: dict[str, Any], sources: int = 15) -> str:
    case = result["case"]
    lines = [
        f"{case['architecture']} B={case['batch_size']} H={case['hidden_size']} "
        f"K={result['K']} chunk={result['chunk']} "
        f"embedding_update={case.get('embedding_update', 'dense')}: "
        f"{result['config_steps_per_s']:.1f} config-steps/s untraced, "
        f"{result['op_us_per_config_step'] / 1e3:.2f} ms of op time per config-step traced",
        "",
        f"GEMMs: {result['gemm_share']:.0%} of the op time; with every other op free, "
        f"{result['gemm_bound_config_steps_per_s'] or 0:.1f} config-steps/s",
        "",
        "| us / config-step | GFLOP/s while running | GEMM |",
        "|---|---|---|",
        *(
            f"| {row['us_per_config_step']:.0f} | {row['gflops_while_running']:.0f} "
            f"| `{row['signature']}` |"
            for row in result["gemms"]
        ),
        "",
        "| share | us / config-step | source |",
        "|---|---|---|",
        *(
            f"| {row['share']:.1%} | {row['us_per_config_step']:.0f} | `{row['name']}` |"
            for row in result["sources"][:sources]
        ),
        "",
        "| share | us / config-step | HLO op |",
        "|---|---|---|",
        *(
            f"| {row['share']:.1%} | {row['us_per_config_step']:.0f} | `{row['name']}` |"
            for row in result["top_ops"][:10]
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("architecture", choices=("rnn", "gru", "lstm", "cnn"))
    parser.add_argument("batch_size", type=int)
    parser.add_argument("hidden_size", type=int)
    parser.add_argument("--K", type=int, default=8)
    parser.add_argument("--chunk", default="auto", help="configs per step: auto, all or N")
    parser.add_argument("--embedding-update", choices=("dense", "lazy"), default="dense")
    parser.add_argument("--embedding-dim", type=int, default=100)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--vocab-size", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=8, help="minibatches per traced epoch")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/profiles"))
    args = parser.parse_args(argv)
    chunk = int(args.chunk) if args.chunk.isdigit() else args.chunk
    case = {
        "architecture": args.architecture,
        "batch_size": args.batch_size,
        "hidden_size": args.hidden_size,
        "embedding_dim": args.embedding_dim,
        "seq_len": args.seq_len,
        "vocab_size": args.vocab_size,
        "num_classes": 6,
        "chunk": chunk,
        "embedding_update": args.embedding_update,
    }
    result = profile(case, args.K, args.steps)
    name = (
        f"{args.architecture}_b{args.batch_size}_h{args.hidden_size}_k{args.K}"
        f"_chunk{chunk}_{args.embedding_update}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / f"{name}.md").write_text(render(result))
    print(render(result))


def run() -> None:
    """Entry point: set XLA CPU's per-op trace flag before jax starts, then profile."""
    if TRACE_FLAG not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {TRACE_FLAG}".strip()
    main(sys.argv[1:])


if __name__ == "__main__":
    run()
