"""The throughput benchmark's Markdown table: one row per case, the focus K's ratios."""

from __future__ import annotations

from typing import Any


def focus_width(widths) -> int:
    """The K every ratio of the table is read at: 64, or the widest measured."""
    return 64 if 64 in widths else max(widths)


def _per_config_mb(memory: dict[str, Any]) -> str:
    """Measured MB per config with the estimate beside it, for the Markdown table."""
    if "bytes_per_config_measured" not in memory:
        return "-"
    return (
        f"{memory['bytes_per_config_measured'] / 2**20:.0f} "
        f"(est. {memory['bytes_per_config_estimated'] / 2**20:.0f})"
    )


def _peak_detail(report: dict[str, Any]) -> str:
    detail = report.get("gemm_peak_detail")  # absent in runs before 2026-12-04
    if not detail:
        return ""
    times = [when for when in ("start", "end") if when in detail]
    values = {
        way: " / ".join(f"{detail[when][way]:.0f}" for when in times)
        for way in ("one_device", "every_device")
    }
    return (
        f" (the best of its timings at the run's {' / '.join(times)}: one device "
        f"{values['one_device']}, every device at once {values['every_device']})"
    )


def markdown_table(report: dict[str, Any]) -> str:
    focus = focus_width(report["settings"]["widths"])
    lines = [
        f"Measured {report['meta']['date']} on {report['meta']['machine']} "
        f"({report['meta']['cpu_count']} CPUs), jax {report['meta']['jax']}, float32, "
        f"E={report['settings']['embedding_dim']}, T={report['settings']['seq_len']}, "
        f"V={report['settings']['vocab_size']}; GEMM peak "
        f"{report['gemm_peak_gflops']:.0f} GFLOP/s{_peak_detail(report)}. "
        "Config-steps/s (higher is better). "
        "The population computes configs one chunk at a time (the default "
        "`budget.chunk: auto`) on each of the devices its configs are split over (the "
        "default `budget.devices: auto`: one CPU device per core); `one device` is the same "
        "K on one device, `as one vmap` the same K in a single vmapped step per device, "
        "`lazy` the same K with the opt-in `train.embedding_update: lazy`.",
        "",
        f"| model | B | H | best K | population K={focus} | devices "
        f"| K={focus} on one device | K={focus} as one vmap "
        "| best population | one at a time (JAX) "
        f"| per-process trial | PyTorch | K={focus} / PyTorch | K={focus} / JAX solo "
        f"| K={focus} lazy | lazy / PyTorch "
        f"| % of GEMM peak (K={focus}) | compile s (K={focus}) | MB / config "
        "| MB / config (lazy) | largest K in 24 GB |",
        "|" + "---|" * 21,
    ]
    if not report["meta"].get("complete", True):
        expected = len(report["settings"]["architectures"]) * len(report["settings"]["sizes"])
        lines.insert(1, f"\n**Partial run**: {len(report['cases'])} of {expected} cases measured.")

    def rate(result):
        return "error" if "error" in result else f"{result['config_steps_per_s']:.1f}"

    for case in report["cases"]:
        points = {p["K"]: p for p in case["population"] if "error" not in p}
        best = max(points.values(), key=lambda p: p["config_steps_per_s"], default=None)
        at = points.get(focus)
        ratios = case["ratios"]
        memory = case["memory"]
        lines.append(
            "| "
            + " | ".join(
                [
                    case["architecture"],
                    str(case["batch_size"]),
                    str(case["hidden_size"]),
                    str(best["K"]) if best else "-",
                    f"{at['config_steps_per_s']:.1f}" if at else "-",
                    str(at.get("devices", "-")) if at else "-",
                    rate(case.get("population_one_device", {"error": "not measured"})),
                    rate(case["population_one_vmap"]),
                    f"{best['config_steps_per_s']:.1f}" if best else "-",
                    rate(case["one_at_a_time_jax"]),
                    rate(case["per_process_trial"]),
                    rate(case["pytorch"]),
                    f"{ratios[f'K{focus}_vs_pytorch']:.2f}x"
                    if f"K{focus}_vs_pytorch" in ratios
                    else "-",
                    (
                        f"{ratios[f'K{focus}_vs_one_at_a_time_jax']:.2f}x"
                        if f"K{focus}_vs_one_at_a_time_jax" in ratios
                        else "-"
                    ),
                    rate(case.get("population_lazy_embedding", {"error": "not measured"})),
                    (
                        f"{ratios[f'K{focus}_lazy_vs_pytorch']:.2f}x"
                        if f"K{focus}_lazy_vs_pytorch" in ratios
                        else "-"
                    ),
                    f"{at['fraction_of_peak']:.0%}" if at else "-",
                    f"{at['compile_s']:.1f}" if at else "-",
                    _per_config_mb(memory),
                    _per_config_mb(case.get("memory_lazy_embedding", {})),
                    str(memory.get("largest_K_in_24GB", "-")),
                ]
            )
            + " |"
        )
    lines += mixed_table(report)
    return "\n".join(lines) + "\n"


def mixed_table(report: dict[str, Any]) -> list[str]:
    """The mixed-population rows: 4 batch sizes x 3 optimizers, merged against separate."""
    cases = [c for c in report["cases"] if "merged" in c.get("mixed_population", {})]
    if not cases:
        return []
    lines = [
        "",
        "Mixed populations: K configs of batch sizes B, 2B, 4B, 8B and optimizers adam, "
        "rmsprop, sgd, every config through the same examples; merged into one program "
        "(budget.merge) against one program per (batch size, optimizer), run one after "
        "another. Examples/s over all configs (higher is better).",
        "",
        "| model | B | H | K | merged | separate | merged / separate | programs "
        "| compile s merged | compile s separate |",
        "|" + "---|" * 10,
    ]
    for case in cases:
        mixed = case["mixed_population"]
        merged, separate = mixed["merged"], mixed["separate"]
        if "error" in merged or "error" in separate:
            error = merged.get("error") or separate.get("error")
            lines.append(f"| {case['architecture']} | {case['batch_size']} | - | error: {error} |")
            continue
        ratio = mixed.get("merged_vs_separate")
        lines.append(
            f"| {case['architecture']} | {case['batch_size']} | {case['hidden_size']} "
            f"| {merged['K']} | {merged['examples_per_s']:.0f} | {separate['examples_per_s']:.0f} "
            f"| {ratio:.2f}x | {merged['programs']} vs {separate['programs']} "
            f"| {merged['compile_s']:.1f} | {separate['compile_s']:.1f} |"
        )
    return lines
