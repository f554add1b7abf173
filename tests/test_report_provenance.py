"""report/provenance.py: the throughput section and the final test evaluation section."""

import json

from jaxtune.layout import FINAL_FILE, SWEEP_FILE
from jaxtune.report import provenance
from jaxtune.report.analysis import Sweep
from jaxtune.report.document import Heading, Paragraph, Strong, Table


def make_sweep(tmp_path, epochs_run=(3, 2, 1), metric="val_accuracy"):
    records = [
        {"trial_id": i, "hparams": {}, "epochs_run": n, "best": None}
        for i, n in enumerate(epochs_run)
    ]
    goal = "minimize" if metric.endswith("loss") else "maximize"
    return Sweep(tmp_path, "hand", "grid", metric, goal, records, [])


def write(path, document):
    path.write_text(json.dumps(document))


def test_throughput_without_sweep_json_says_the_time_was_not_recorded(tmp_path):
    heading, table, note = provenance.throughput_section(make_sweep(tmp_path))
    assert heading == Heading("Throughput")
    assert table.rows == (
        ("configs trained", "3"),
        ("config-epochs", "6"),
        ("wall time", "not recorded"),
        ("config-epochs per second", "—"),
    )
    assert table.align_right == (False, True)
    assert note == Paragraph(f"Wall time not recorded (no {SWEEP_FILE} in the sweep directory).")


def test_throughput_with_sweep_json_gives_the_rate_and_the_details(tmp_path):
    write(
        tmp_path / SWEEP_FILE,
        {
            "name": "hand",
            "seconds": 12.34,
            "configs": 3,
            "devices": ["cpu:0", "cpu:1"],
            "chunk": None,
            "compile_seconds": 1.5,
        },
    )
    _, table, note = provenance.throughput_section(make_sweep(tmp_path, (4, 4, 4)))
    rows = dict(table.rows)
    assert rows["wall time"] == "12.3 s"
    assert rows["config-epochs per second"] == f"{12 / 12.34:.2f}"
    assert rows["devices"] == "[cpu:0, cpu:1]"
    assert rows["chunk"] == "null"
    assert rows["compile_seconds"] == "1.5"
    assert "name" not in rows and "seconds" not in rows  # read, not repeated
    assert list(rows)[-3:] == ["devices", "chunk", "compile_seconds"]  # sweep.json's order
    assert note.runs[0].startswith("Wall time of the whole sweep") and SWEEP_FILE in note.runs[0]


def test_final_section_before_final_ran_says_the_test_split_is_untouched(tmp_path):
    heading, paragraph = provenance.final_section(make_sweep(tmp_path))
    assert heading == Heading("Final test evaluation")
    assert paragraph.runs[0].startswith(
        f"Not run: the test split has not been touched ({FINAL_FILE}"
    )


def test_final_section_lists_known_keys_in_order_with_the_sweeps_metric(tmp_path):
    write(
        tmp_path / FINAL_FILE,
        {
            "evaluated_at": "2025-01-02T00:00:00+00:00",
            "test_size": 48,
            "test_loss": 0.41234,
            "val_accuracy": 0.5,  # not the sweep's metric: left out
            "val_loss": 0.375,
            "trial_id": 7,
            "best_epoch": 4,
            "test_accuracy": 0.875,
            "unknown_key": "left out",
        },
    )
    blocks = provenance.final_section(make_sweep(tmp_path, metric="val_loss"))
    table = blocks[1]
    assert table.rows == (
        ("trial_id", "7"),
        ("best_epoch", "4"),
        ("val_loss", "0.3750"),
        ("test_accuracy", "0.8750"),
        ("test_loss", "0.4123"),
        ("test_size", "48"),
        ("evaluated_at", "2025-01-02T00:00:00+00:00"),
    )
    assert blocks[-1] == Paragraph("Evaluated once; never forced again.")
    assert len(blocks) == 3  # no per-class accuracy, no --top table


def test_final_section_names_classes_by_index_without_label_names(tmp_path):
    write(tmp_path / FINAL_FILE, {"trial_id": 0, "test_per_class_accuracy": [0.5, 1.0, 0.25]})
    blocks = provenance.final_section(make_sweep(tmp_path))
    per_class = blocks[2]
    assert per_class.header == ("class", "test accuracy")
    assert per_class.rows == (("0", "0.5000"), ("1", "1.0000"), ("2", "0.2500"))


def test_final_section_shows_the_top_table_only_for_several_configs(tmp_path):
    one = {"trial_id": 1, "val_accuracy": 0.9, "test_accuracy": 0.8}
    write(tmp_path / FINAL_FILE, {"trial_id": 1, "top": [one]})
    assert not any(
        isinstance(b, Table) and b.header[0] == "trial_id"
        for b in provenance.final_section(make_sweep(tmp_path))
    )
    two = {"trial_id": 2, "val_accuracy": 0.85}  # no test metrics recorded: dashes
    write(tmp_path / FINAL_FILE, {"trial_id": 1, "top": [one, "not a config", two]})
    blocks = provenance.final_section(make_sweep(tmp_path))
    intro = blocks[-3]
    assert intro == Paragraph("The top 2 configs on the test split (`--top 2`):")
    top = blocks[-2]
    assert tuple(top.header) == (
        "trial_id",
        "val_accuracy",
        "test_accuracy",
        "test_loss",
        "test_macro_f1",
    )
    assert top.rows == (
        ("1", "0.9000", "0.8000", "—", "—"),
        ("2", "0.8500", "—", "—", "—"),
    )
    assert top.align_right == (True,) * 5


def test_final_section_counts_forced_evaluations(tmp_path):
    forced = ["2025-01-03T00:00:00+00:00", "2025-01-04T00:00:00+00:00"]
    write(tmp_path / FINAL_FILE, {"trial_id": 1, "forced": forced})
    last = provenance.final_section(make_sweep(tmp_path))[-1]
    assert last.runs[0] == Strong("Evaluated again with --force 2 time(s): ")
    assert last.runs[1] == "; ".join(forced)
