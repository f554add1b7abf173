"""W&B tracking: one offline run per config, read back from W&B's own files; never fatal."""

import struct

import yaml
from typer.testing import CliRunner

from jaxtune.cli import app
from jaxtune.tracking import WandbTracker

runner = CliRunner()
BLOCK = 32 * 1024  # W&B's transaction log uses LevelDB's log format: 32 KiB blocks


def read_wandb_records(path):
    """Every protobuf Record of a .wandb file (a W&B header, then LevelDB log records)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    position, pending, records = 7, b"", []  # header: ":W&B" + 2-byte magic + version
    while position + 7 <= len(data):
        block_left = BLOCK - position % BLOCK
        if block_left < 7:  # a block's tail too short for a header is padding
            position += block_left
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if kind == 0 and length == 0:
            break
        chunk = data[position + 7 : position + 7 + length]
        position += 7 + length
        pending += chunk
        if kind in (1, 4):  # FULL or LAST: a record is complete
            record = pb.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
        elif kind == 2:  # FIRST
            pending = chunk
    return records


def test_offline_runs_one_per_config_with_metrics(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "tracked",
                "data": {"train_size": 200, "val_size": 64, "test_size": 16, "max_length": 10},
                "model": {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8},
                "train": {"epochs": 2},
                "parameters": {"learning_rate": {"values": [0.003, 0.03]}},
            }
        )
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out), "--wandb", "offline"])
    assert result.exit_code == 0, result.output
    files = sorted((out / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 2  # one run per config, inside the sweep directory
    seen = {}
    for path in files:
        records = read_wandb_records(path)
        [run] = [r.run for r in records if r.WhichOneof("record_type") == "run"]
        config = {item.key: item.value_json for item in run.config.update}
        history = [
            {item.key or "/".join(item.nested_key): item.value_json for item in r.history.item}
            for r in records
            if r.WhichOneof("record_type") == "history"
        ]
        assert run.run_group == "tracked" and run.job_type == "sweep-config"
        assert len(history) == 2 and all("val_accuracy" in h and "train_loss" in h for h in history)
        seen[run.display_name] = float(config["learning_rate"])
    assert seen == {"tracked/trial-0": 0.003, "tracked/trial-1": 0.03}


def test_a_failing_wandb_turns_tracking_off_once(tmp_path, monkeypatch):
    import wandb

    calls = []

    def broken_init(**kwargs):
        calls.append(kwargs)
        raise ConnectionError("W&B server unreachable\nmore detail")

    monkeypatch.setattr(wandb, "init", broken_init)
    tracker = WandbTracker("online", tmp_path, "s")
    record = {"trial_id": 0, "hparams": {}, "history": [], "status": "completed"}
    tracker.log_records([record, record])
    tracker.log_records([record])
    assert len(calls) == 1 and not tracker.active
    assert tracker.error == "ConnectionError: W&B server unreachable"


def history_steps(path):
    return [
        r.history.step.num
        for r in read_wandb_records(path)
        if r.WhichOneof("record_type") == "history"
    ]


def test_runs_receive_each_evaluation_live_and_a_resumed_sweep_continues_them(
    tmp_path, monkeypatch
):
    from test_resume import finish, jaxtune, results

    monkeypatch.delenv("WANDB_MODE", raising=False)
    spec = tmp_path / "spec.yaml"
    document = {
        "name": "live",
        "data": {"train_size": 200, "val_size": 64, "test_size": 16, "max_length": 10},
        "model": {"architecture": "gru", "hidden_size": 8, "embedding_dim": 8},
        "train": {"epochs": 5},
        "parameters": {"learning_rate": {"values": [0.003, 0.03]}},
    }
    spec.write_text(yaml.safe_dump(document))
    out = tmp_path / "out"
    # SIGKILLed 1 s after the population's snapshot of evaluation 3 (of 5): longer than
    # W&B takes to write what it was given (tracking.FLUSH_SECONDS).
    monkeypatch.delenv("JAXTUNE_WANDB", raising=False)  # the CLI's default: offline
    # Each process its own W&B service, as from a shell (an earlier test of this process
    # started one, and a child would otherwise join it and outlive its kill there).
    monkeypatch.delenv("WANDB_SERVICE", raising=False)
    kill = {"JAXTUNE_TEST_KILL_AT": "0:3", "JAXTUNE_TEST_KILL_DELAY": "1.0"}
    killed = jaxtune("sweep", spec, "--out", out, env=kill)
    killed.communicate(timeout=600)
    assert killed.returncode == -9 and not (out / "results.jsonl").exists()
    ids = {t: WandbTracker("offline", out, "live").run_id(t) for t in (0, 1)}
    for trial, run_id in ids.items():  # what each run had when the population was killed
        [before] = sorted((out / "wandb").glob(f"offline-run-*-{run_id}/run-{run_id}.wandb"))
        assert history_steps(before) == [1, 2, 3], trial
    printed = finish(jaxtune("resume", out))
    assert "W&B tracking was turned off" not in printed, printed
    assert len(results(out)) == 2
    for trial, run_id in ids.items():  # the same run continued, its history whole (W&B
        # keeps a resumed run's steps past those it has)
        # (a resume within the same second writes into the killed run's own folder)
        files = sorted((out / "wandb").glob(f"offline-run-*-{run_id}/run-{run_id}.wandb"))
        assert history_steps(files[-1])[-5:] == [1, 2, 3, 4, 5], trial
        records = read_wandb_records(files[1])
        [run] = [r.run for r in records if r.WhichOneof("record_type") == "run"]
        assert run.run_id == run_id and run.display_name == f"live/trial-{trial}"
