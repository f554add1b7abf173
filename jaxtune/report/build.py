"""`jaxtune report DIR`: the sections in order, written as report.md, report.html, figures/."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from jaxtune.layout import FIGURES_DIR, REPORT_HTML, REPORT_MARKDOWN
from jaxtune.report import conclusions, lineage, provenance, sections, tuning
from jaxtune.report.analysis import load_sweep
from jaxtune.report.document import Figure, to_html, to_markdown

OWN_FIGURES = (
    "hparam_*.png",
    "overview.png",
    "studies.png",
    "learning_curves.png",
    "cell_types.png",
    tuning.FIGURE,
    lineage.FIGURE,
)


@dataclasses.dataclass(frozen=True)
class Written:
    markdown: Path
    html: Path
    figures: list[Path]


def write_report(directory: Path) -> Written:
    """Write DIR/report.md, DIR/report.html (figures embedded) and DIR/figures/*.png."""
    sweep = load_sweep(directory)
    figure_dir = directory / FIGURES_DIR
    for pattern in OWN_FIGURES:  # a figure of an earlier report that no longer applies
        for stale in figure_dir.glob(pattern):
            stale.unlink()
    blocks = [
        *sections.summary(sweep),
        *sections.ranking(sweep),
        *sections.replicates(sweep),
        *tuning.tuning_iterations(sweep, figure_dir),
        *sections.hyperparameters(sweep, figure_dir),
        *sections.learning_curves(sweep, figure_dir),
        *lineage.pbt_section(sweep, figure_dir),
        *conclusions.cell_types(sweep, figure_dir),
        *conclusions.recommendations(sweep),
        *provenance.throughput_section(sweep),
        *provenance.final_section(sweep),
    ]
    markdown = _write(directory / REPORT_MARKDOWN, to_markdown(blocks, directory))
    page = _write(directory / REPORT_HTML, to_html(blocks, f"jaxtune report: {sweep.name}"))
    return Written(markdown, page, [b.path for b in blocks if isinstance(b, Figure)])


def _write(path: Path, text: str) -> Path:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path
