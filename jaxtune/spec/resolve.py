"""The spec with the data's facts applied: the one place data-derived facts enter a sweep.

A parsed `SweepSpec` says what the user wrote. What the data decides (the pretrained
vectors' width, the vocabulary, the classes, the token width and the length buckets, the
class weights "balanced" asks for) is applied once, by `resolve`, right after the data is
loaded and before anything samples, plans or extends. The result is a `ResolvedSpec`,
which is a `SweepSpec` too, so the samplers read it unchanged; every sweep-level step
(sampling, planning, `--n-more`, `refine`, `final`, `report`) takes one. Its facts are
recorded in the sweep directory (`resolved.json`), so commands that re-read a sweep get
the same resolved spec without the data.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from jaxtune.data.sources import DataReport
from jaxtune.layout import RESOLVED_FILE
from jaxtune.plan import Shapes
from jaxtune.results import recorded_data_dir, write_json
from jaxtune.spec.document import SweepSpec
from jaxtune.spec.errors import SpecError


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResolvedSpec(SweepSpec):
    """A spec whose data-derived facts are known and applied (`fixed` holds embedding_dim
    when pretrained vectors set it)."""

    vocab_size: int
    label_names: tuple[str, ...]
    width: int  # T: the token width of every split
    buckets: tuple[int, ...]  # length buckets of the training split (one: no bucketing)
    embedding_width: int | None  # the pretrained vectors' width; None without vectors
    class_weights: tuple[float, ...] | None  # loss weight per class; None: all equal

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def shapes(self) -> Shapes:
        return Shapes(self.vocab_size, self.num_classes, max(self.buckets))

    @property
    def bucket_lengths(self) -> tuple[int, ...] | None:
        """The buckets a population's epochs use; None when there is only one."""
        return self.buckets if len(self.buckets) > 1 else None

    def facts(self) -> dict[str, Any]:
        """What the data decided, as JSON (`resolved.json`)."""
        return {field: getattr(self, field) for field in FACTS}


FACTS = tuple(f.name for f in dataclasses.fields(ResolvedSpec) if f.kw_only)


def resolve(spec: SweepSpec, report: DataReport) -> ResolvedSpec:
    """Apply the loaded data's facts to `spec`; a spec the data contradicts is a SpecError."""
    width = None if report.embedding is None else int(report.embedding.shape[1])
    return _with_facts(
        spec,
        vocab_size=report.vocab_size,
        label_names=tuple(report.label_names),
        width=report.max_length,
        buckets=tuple(report.buckets),
        embedding_width=width,
        class_weights=_class_weights(spec, report),
    )


def write_facts(directory: Path, resolved: ResolvedSpec) -> None:
    write_json(Path(directory) / RESOLVED_FILE, resolved.facts())


def read_resolved(directory: Path, data_dir: str | Path | None = None) -> ResolvedSpec:
    """The resolved spec of the sweep in `directory`, from spec.yaml and resolved.json.

    A sweep written before resolved.json existed is resolved from its data once (found
    where the sweep found it, `run.json`, unless `data_dir` says otherwise), and the facts
    are recorded for the next reader.
    """
    directory = Path(directory)
    from jaxtune.directory import load_sweep_spec

    spec = load_sweep_spec(directory)
    path = directory / RESOLVED_FILE
    if path.is_file():
        facts = json.loads(path.read_text(encoding="utf-8"))
        facts = {name: facts[name] for name in FACTS}
        for name in ("label_names", "buckets", "class_weights"):
            if facts[name] is not None:
                facts[name] = tuple(facts[name])
        return _with_facts(spec, **facts)
    from jaxtune.data.examples import DataError
    from jaxtune.data.sources import load_dataset

    try:
        _, report = load_dataset(
            spec.data, cache_dir=directory, data_dir=data_dir or recorded_data_dir(directory)
        )
    except DataError as error:
        raise DataError(
            f"{directory}: written before {RESOLVED_FILE}, so its data is read once to "
            f"resolve its spec: {error}"
        ) from None
    resolved = resolve(spec, report)
    write_facts(directory, resolved)
    return resolved


def _with_facts(spec: SweepSpec, **facts) -> ResolvedSpec:
    fixed = spec.fixed
    width = facts["embedding_width"]
    if width is not None:  # the vectors fix embedding_dim; a different value is an error
        where = f"{spec.path}: data.embedding.pretrained"
        swept = spec.parameters.get("embedding_dim") or spec.distributions.get("embedding_dim")
        named = [name for name, values in spec.named.items() if "embedding_dim" in values]
        if swept is not None:
            raise SpecError(
                f"{where}: vectors of width {width} fix embedding_dim; remove "
                f"parameters.embedding_dim (found {swept})"
            )
        if named:
            raise SpecError(
                f"{where}: vectors of width {width} fix embedding_dim; remove it from "
                f"configs.{named[0]} (found {spec.named[named[0]]['embedding_dim']})"
            )
        if fixed.get("embedding_dim", width) != width:
            raise SpecError(
                f"{where}: vectors of width {width}, but embedding_dim is "
                f"{fixed['embedding_dim']}; set it to {width} or remove it"
            )
        fixed = {**fixed, "embedding_dim": width}
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(SweepSpec)}
    return ResolvedSpec(**{**fields, "fixed": fixed}, **facts)


def _class_weights(spec: SweepSpec, report: DataReport) -> tuple[float, ...] | None:
    """train.class_weights as one weight per class: "balanced" is n / (C * count_c)."""
    weights = spec.train.class_weights
    labels = report.label_names
    if weights == "none":
        return None
    if weights == "balanced":
        counts = np.array([report.label_counts["train"][label] for label in labels], np.float64)
        balanced = np.where(counts > 0, counts.sum() / (len(labels) * np.maximum(counts, 1)), 1.0)
        return tuple(float(w) for w in balanced)
    if len(weights) != len(labels):
        raise SpecError(
            f"{spec.path}: train.class_weights: expected {len(labels)} weights "
            f"(one per class: {', '.join(labels)}), found {len(weights)}"
        )
    return tuple(weights)
