"""Labelled examples from local files (`text;label`, CSV, TSV, JSONL; gzip or plain), checked.

Every problem is one `DataError` line, `FILE:LINE: what was found; expected ...`.
With `skip_bad_lines=True` a bad line is skipped and counted instead (the first
few reasons are kept for the report), so nothing is dropped silently. Blank
lines are not examples; they are counted too. Texts and labels are stripped of
surrounding whitespace (SST-2 ends every sentence with a space).

Tasks tag and ctc read JSONL only: `{"text": ..., "tags": [...]}` (one label per token)
or `{"text": ..., "target": ...}` (a string read character by character, or a list);
labels are strings or integers (an integer becomes its decimal string), and each
example's labels are kept as a tuple.
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

from jaxtune.data.examples import MAX_REASONS, DataError, Examples
from jaxtune.data.sequences import LABEL_KEYS, sequence_labels

FORMATS = ("semicolon", "csv", "tsv", "jsonl")
SUFFIXES = {".txt": "semicolon", ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
GZIP_MAGIC = b"\x1f\x8b"


def infer_format(path: str | Path) -> str:
    """The format implied by a file name: `.txt` semicolon, `.csv`, `.tsv`, `.jsonl`/`.json`."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    if suffix not in SUFFIXES:
        raise DataError(
            f"{path}: found suffix {suffix or '(none)'!r}; expected one of "
            f"{', '.join(SUFFIXES)} (optionally .gz) or an explicit format"
        )
    return SUFFIXES[suffix]


def read_examples(
    path: str | Path,
    *,
    format: str | None = None,
    text_column: str | int | None = None,
    label_column: str | int | None = None,
    header: bool | None = None,
    skip_bad_lines: bool = False,
    task: str = "classify",
) -> Examples:
    """Read `path` (gzip by magic bytes or `.gz`) in `format` (inferred from the suffix if None).

    Args:
      text_column, label_column: a key (jsonl), a header name (csv/tsv with a header)
        or a 0-based column index (csv/tsv); defaults `"text"`/`"label"`, or 0/1
        without a header. Unused by `semicolon`, which splits on the last `;`.
      header: whether a csv/tsv file starts with a header line (default True).
      task: classify, or tag / ctc (JSONL only; label key default "tags" / "target").
    """
    format = format or infer_format(path)
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; allowed: {', '.join(FORMATS)}")
    if task != "classify" and format != "jsonl":
        raise DataError(
            f"{path}: found format {format}; expected jsonl (data.format): task {task} reads JSONL"
        )
    if format in ("csv", "tsv"):
        header = True if header is None else header
        text_column = _default_column(text_column, "text", 0, header)
        label_column = _default_column(label_column, "label", 1, header)
        for column in (text_column, label_column):
            if isinstance(column, str) and not header:
                raise ValueError(f"column {column!r} is a name but the file has no header")
    else:
        text_column = "text" if text_column is None else text_column
        label_column = LABEL_KEYS[task] if label_column is None else label_column
    reader = _Reader(str(path), skip_bad_lines)
    if format == "semicolon":
        _read_semicolon(reader)
    elif format == "jsonl":
        _read_jsonl(reader, text_column, label_column, task)
    else:
        _read_delimited(reader, format, text_column, label_column, header)
    return reader.result()


def _default_column(column, name: str, index: int, header: bool):
    if column is None:
        return name if header else index
    return column


class _Reader:
    """Decodes lines, tracks the current line number and collects examples and skips."""

    def __init__(self, path: str, skip_bad_lines: bool):
        self.path = path
        self.skip_bad_lines = skip_bad_lines
        self.line = 0  # physical line last read
        self.texts, self.labels, self.numbers = [], [], []
        self.skipped = 0
        self.reasons = []
        self.blank_lines = 0

    def fail(self, message: str, line: int | None = None):
        """Raise, or count and go on; `message` is 'found ...; expected ...'."""
        full = f"{self.path}:{line or self.line}: {message}"
        if not self.skip_bad_lines:
            raise DataError(full)
        self.skipped += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(full)

    def lines(self) -> Iterator[str]:
        """Decoded lines with their line ends; an undecodable line fails (or is skipped)."""
        path = Path(self.path)
        try:
            with open(path, "rb") as raw:
                compressed = raw.read(2) == GZIP_MAGIC or path.name.endswith(".gz")
        except FileNotFoundError:
            raise DataError(f"{self.path}: no such file") from None
        except OSError as error:
            raise DataError(f"{self.path}: cannot read: {error.strerror or error}") from None
        opener = gzip.open if compressed else open
        with opener(path, "rb") as handle:
            while True:
                try:
                    raw_line = handle.readline()
                except (OSError, EOFError, zlib.error) as error:
                    raise DataError(
                        f"{self.path}:{self.line + 1}: found a corrupt or truncated gzip stream "
                        f"({error}); expected a complete gzip file"
                    ) from None
                if not raw_line:
                    return
                self.line += 1
                try:
                    text = raw_line.decode("utf-8")
                except UnicodeDecodeError as error:
                    bad = raw_line[error.start : error.start + 4]
                    self.fail(
                        f"found bytes that are not UTF-8 ({bad!r} at byte {error.start + 1}); "
                        "expected UTF-8 text"
                    )
                    continue
                if self.line == 1:
                    text = text.removeprefix("\ufeff")  # a byte order mark, as Excel writes
                yield text

    def add(self, line: int, text: str, label: str | tuple[str, ...]):
        text = text.strip()
        label = label.strip() if isinstance(label, str) else label
        if not text:
            self.fail(f"found an empty text (label {label!r}); expected a non-empty text", line)
        elif not label:
            self.fail(f"found an empty label for text {_preview(text)}; expected a label", line)
        else:
            self.texts.append(text)
            self.labels.append(label)
            self.numbers.append(line)

    def result(self) -> Examples:
        return Examples(
            path=self.path,
            texts=self.texts,
            labels=self.labels,
            lines=self.numbers,
            skipped=self.skipped,
            skip_reasons=tuple(self.reasons),
            blank_lines=self.blank_lines,
        )


def _preview(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[:width] + "...")


def _read_semicolon(reader: _Reader):
    for line in reader.lines():
        if not line.strip():
            reader.blank_lines += 1
            continue
        text, separator, label = line.rstrip("\r\n").rpartition(";")
        if not separator:
            reader.fail(f"found no ';' in {_preview(label)}; expected text;label")
            continue
        reader.add(reader.line, text, label)


def _read_jsonl(reader: _Reader, text_key: str, label_key: str, task: str = "classify"):
    label_role = LABEL_KEYS[task]  # how a message names the labels: label, tags, target
    for line in reader.lines():
        if not line.strip():
            reader.blank_lines += 1
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            reader.fail(
                f"found invalid JSON ({error.msg} at column {error.colno}); "
                "expected one JSON object per line"
            )
            continue
        if not isinstance(record, dict):
            reader.fail(f"found a JSON {_json_type(record)}; expected one JSON object per line")
            continue
        problem = None
        values = []
        for role, key in (("text", text_key), (label_role, label_key)):
            if key not in record:
                keys = ", ".join(map(repr, record)) or "none"
                problem = f"found keys {keys}; expected a {role} key {key!r}"
                break
            value = record[key]
            if role != "text" and task != "classify":
                value, problem = sequence_labels(value, key, task)
                if problem:
                    break
                values.append(value)
                continue
            if role == "label" and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                kind = "a string or an integer" if role == "label" else "a string"
                problem = f"found {role} {json.dumps(value)} under {key!r}; expected {kind}"
                break
            values.append(value)
        if problem:
            reader.fail(problem)
            continue
        reader.add(reader.line, *values)


def _json_type(value) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _read_delimited(reader: _Reader, format: str, text_column, label_column, header: bool):
    """CSV (RFC 4180 quoting) or TSV (no quoting at all, as GLUE writes it)."""
    rows = csv.reader(
        reader.lines(),
        delimiter="," if format == "csv" else "\t",
        quoting=csv.QUOTE_MINIMAL if format == "csv" else csv.QUOTE_NONE,
        strict=True,
    )
    columns = None  # (text index, label index)
    width = width_line = None  # columns per row: the header's, or else the first row's
    while True:
        start = reader.line + 1  # a quoted CSV field may span lines: report where the row starts
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            reader.fail(
                f"found a malformed {format.upper()} row ({error}); expected {_shape(format)}"
            )
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            reader.blank_lines += 1
            continue
        if columns is None:
            width, width_line = len(row), start
            if header:
                names = [name.strip() for name in row]
                columns = tuple(
                    _column_index(reader.path, names, column, role, start)
                    for role, column in (("text", text_column), ("label", label_column))
                )
                continue
            needed = max(text_column, label_column) + 1
            if width < needed:
                raise DataError(
                    f"{reader.path}:{start}: found {_columns(width)}; expected at least {needed} "
                    f"(text column {text_column}, label column {label_column})"
                )
            columns = (text_column, label_column)
        if len(row) != width:
            what = "the header" if header else "the first row"
            reader.fail(
                f"found {_columns(len(row))}; expected {width} as in {what} (line {width_line})",
                start,
            )
            continue
        reader.add(start, row[columns[0]], row[columns[1]])


def _shape(format: str) -> str:
    return "RFC 4180 quoting" if format == "csv" else "tab-separated fields without quoting"


def _columns(count: int) -> str:
    return f"{count} column{'s' * (count != 1)}"


def _column_index(path: str, names: list[str], column, role: str, line: int) -> int:
    if isinstance(column, int):
        if not 0 <= column < len(names):
            raise DataError(
                f"{path}:{line}: found {_columns(len(names))}; "
                f"expected a {role} column at index {column}"
            )
        return column
    if column not in names:
        raise DataError(
            f"{path}:{line}: found columns {', '.join(map(repr, names))}; "
            f"expected a {role} column named {column!r}"
        )
    return names.index(column)
