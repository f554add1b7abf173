"""report/build.py: the sections in order, report.md and report.html written, stale figures gone."""

import json

import pytest
import yaml
from support import RESOLVED_BY_HAND

from jaxtune.layout import FIGURES_DIR, REPORT_HTML, REPORT_MARKDOWN, RESOLVED_FILE, SPEC_FILE
from jaxtune.report import build, conclusions, provenance, sections, tuning
from jaxtune.report.document import Figure, Heading, Paragraph
from jaxtune.results import write_results

RESOLVED = RESOLVED_BY_HAND
SECTIONS = [  # (module, function, takes the figure folder), in the report's order
    (sections, "summary", False),
    (sections, "ranking", False),
    (tuning, "tuning_iterations", True),
    (sections, "hyperparameters", True),
    (sections, "learning_curves", True),
    (conclusions, "cell_types", True),
    (conclusions, "recommendations", False),
    (provenance, "throughput_section", False),
    (provenance, "final_section", False),
]


@pytest.fixture
def sweep_dir(tmp_path):
    directory = tmp_path / "sweep"
    directory.mkdir()
    spec = {"name": "built", "parameters": {"dropout": {"values": [0.0, 0.5]}}}
    (directory / SPEC_FILE).write_text(yaml.safe_dump(spec))
    (directory / RESOLVED_FILE).write_text(json.dumps(RESOLVED))
    records = [
        {"trial_id": i, "hparams": {"dropout": d}, "best": {"val_accuracy": 0.5 + d}}
        for i, d in enumerate([0.0, 0.5])
    ]
    write_results(directory, records)
    return directory


@pytest.fixture
def calls(monkeypatch):
    """Each section replaced by one heading naming it; calls recorded as (name, args)."""
    made = []
    for module, name, _ in SECTIONS:

        def section(*args, name=name):
            made.append((name, args))
            return [Heading(name)]

        monkeypatch.setattr(module, name, section)
    return made


def test_write_report_puts_the_sections_in_order(sweep_dir, calls):
    written = build.write_report(sweep_dir)
    assert [name for name, _ in calls] == [name for _, name, _ in SECTIONS]
    for (_, _, takes_folder), (name, args) in zip(SECTIONS, calls, strict=True):
        sweep = args[0]
        assert sweep.directory == sweep_dir and sweep.name == "built", name
        assert sweep.swept == ["dropout"] and [r["trial_id"] for r in sweep.records] == [1, 0]
        assert args[1:] == ((sweep_dir / FIGURES_DIR,) if takes_folder else ()), name
    markdown = written.markdown.read_text(encoding="utf-8")
    assert markdown == "\n\n".join(f"## {name}" for _, name, _ in SECTIONS) + "\n"
    page = written.html.read_text(encoding="utf-8")
    assert "<title>jaxtune report: built</title>" in page
    headings = [name for _, name, _ in SECTIONS]
    positions = [page.index(f"<h2>{name}</h2>") for name in headings]
    assert positions == sorted(positions)


def test_write_report_writes_both_files_in_place_and_nothing_else(sweep_dir, calls):
    (sweep_dir / REPORT_MARKDOWN).write_text("an earlier report, much longer " * 100)
    before = {p.name for p in sweep_dir.iterdir()}
    written = build.write_report(sweep_dir)
    assert written.markdown == sweep_dir / REPORT_MARKDOWN
    assert written.html == sweep_dir / REPORT_HTML
    assert written.markdown.read_text().startswith("## summary")
    assert {p.name for p in sweep_dir.iterdir()} == before | {REPORT_HTML}  # no .tmp left
    assert written.figures == []


def test_written_figures_are_the_figure_blocks_in_order(sweep_dir, calls, monkeypatch):
    figure_dir = sweep_dir / FIGURES_DIR

    def figures_of(names):
        def section(sweep, folder):
            folder.mkdir(exist_ok=True)
            blocks = []
            for name in names:
                (folder / name).write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode())
                blocks += [Paragraph(name), Figure(folder / name, f"caption {name}")]
            return blocks

        return section

    monkeypatch.setattr(sections, "hyperparameters", figures_of(["hparam_b.png", "hparam_a.png"]))
    monkeypatch.setattr(conclusions, "cell_types", figures_of(["cell_types.png"]))
    written = build.write_report(sweep_dir)
    expected = [figure_dir / n for n in ("hparam_b.png", "hparam_a.png", "cell_types.png")]
    assert written.figures == expected
    markdown = written.markdown.read_text()
    assert "![caption hparam_b.png](figures/hparam_b.png)" in markdown
    assert markdown.index("hparam_b.png)") < markdown.index("cell_types.png)")
    assert written.html.read_text().count("data:image/png;base64,") == 3


def test_write_report_removes_its_own_stale_figures_only(sweep_dir, calls):
    figure_dir = sweep_dir / FIGURES_DIR
    figure_dir.mkdir()
    stale = [
        "hparam_learning_rate.png",
        "overview.png",
        "studies.png",
        "learning_curves.png",
        "cell_types.png",
        tuning.FIGURE,
    ]
    kept = ["my_plot.png", "hparam_notes.txt", "overview.svg"]
    for name in stale + kept:
        (figure_dir / name).write_bytes(b"old")
    build.write_report(sweep_dir)
    assert sorted(p.name for p in figure_dir.iterdir()) == sorted(kept)
