"""What a compiled module's HLO text says about its ops: source frames and GEMM shapes.

`stack_frames`/`op_frames` read the stack-frame metadata XLA keeps per op, and
`source_label` names the jaxtune function that built an op; `gemm_fusions` recovers the
operand shapes and FLOPs of GEMM fusions, which carry no metadata on XLA CPU.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # the jaxtune package directory
LIBRARIES = ("optax", "flax")  # attributed to the jaxtune frame that called them


@dataclasses.dataclass(frozen=True)
class Frame:
    file: str
    function: str
    line: int
    parent: int  # frame id, 0: none


def stack_frames(hlo_text: str) -> dict[int, Frame]:
    """The StackFrames table of a compiled module's HLO text, frame id -> Frame.

    The text lists FileNames, FunctionNames, FileLocations and StackFrames, 1-based; a
    frame's printed parent_frame_id is the parent's id plus one (1: no parent).
    """
    sections: dict[str, list[str]] = {}
    current = None
    for line in hlo_text.splitlines():
        if line in ("FileNames", "FunctionNames", "FileLocations", "StackFrames"):
            current = sections.setdefault(line, [])
        elif not line.strip():
            current = None
        elif current is not None:
            current.append(line)

    def names(section):
        return {
            int(number): json.loads(text)
            for number, text in (line.split(" ", 1) for line in sections.get(section, []))
        }

    def records(section):
        return {
            int(line.split(" ", 1)[0]): dict(
                (key, int(value)) for key, value in re.findall(r"(\w+)=(-?\d+)", line)
            )
            for line in sections.get(section, [])
        }

    files, functions = names("FileNames"), names("FunctionNames")
    locations = records("FileLocations")
    frames = {}
    for frame_id, frame in records("StackFrames").items():
        location = locations[frame["file_location_id"]]
        frames[frame_id] = Frame(
            file=files[location["file_name_id"]],
            function=functions[location["function_name_id"]],
            line=location["line"],
            parent=frame["parent_frame_id"] - 1,
        )
    return frames


def op_frames(hlo_text: str) -> dict[str, int]:
    """HLO op name -> its stack frame id, for every op with stack-frame metadata."""
    pattern = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+) = .*\bstack_frame_id=(\d+)")
    return {
        match.group(1): int(match.group(2))
        for match in map(pattern.match, hlo_text.splitlines())
        if match
    }


@dataclasses.dataclass(frozen=True)
class Gemm:
    signature: str  # `f32[64,128] x f32[128,512] -> f32[64,512]`
    flops: int  # of one execution: 2 x output elements x contracted elements


def _elements(shape: str) -> list[int]:
    """`f32[64,128]{1,0}` -> [64, 128]."""
    dims = re.search(r"\[([\d,]*)\]", shape).group(1)
    return [int(d) for d in dims.split(",") if d]


def gemm_fusions(hlo_text: str) -> dict[str, Gemm]:
    """HLO op name -> Gemm, for ops that call a computation holding a dot. XLA CPU's
    YNNPACK GEMM fusions carry no source metadata, so their operand shapes are what
    tells the recurrent matmul from the projection."""
    header = re.compile(r"^%?([\w.\-]+) \((.*)\) -> (\S+) \{$")
    value = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+) = (\w+\[[\d,]*\])")
    dot = re.compile(r"\bdot\(%?([\w.\-]+), .*lhs_contracting_dims=\{([\d,]*)\}")
    gemms, current, shapes, lines = {}, None, {}, hlo_text.splitlines()
    for line in lines:
        match = header.match(line)
        if match:
            current, shapes = match, {}
        elif line.startswith("}"):
            current = None
        elif current is not None:
            defined = value.match(line)
            if defined:
                shapes[defined.group(1)] = defined.group(2)
            called = dot.search(line)
            if called and defined:
                lhs = _elements(shapes[called.group(1)])
                contracted = math.prod(lhs[int(d)] for d in called.group(2).split(",") if d)
                operands = re.findall(r": (\w+\[[\d,]*\])", current.group(2))
                gemms[current.group(1)] = Gemm(
                    signature=f"{' x '.join(operands)} -> {current.group(3)}",
                    flops=2 * math.prod(_elements(defined.group(2))) * contracted,
                )
    calls = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+) = .*\bcalls=%?([\w.\-]+)")
    return {
        match.group(1): gemms[match.group(2)]
        for match in map(calls.match, lines)
        if match and match.group(2) in gemms
    }


def fused_dots(hlo_text: str) -> dict[str, str]:
    """HLO op name -> `f32[64,128] x f32[128,512] -> f32[64,512]` (see `gemm_fusions`)."""
    return {op: gemm.signature for op, gemm in gemm_fusions(hlo_text).items()}


def _relative(file: str) -> str | None:
    """`file` relative to the jaxtune package, or None outside it."""
    try:
        return Path(file).resolve().relative_to(PACKAGE).as_posix()
    except ValueError:
        return None


def _library(file: str) -> str | None:
    parts = Path(file).parts
    return next((name for name in LIBRARIES if name in parts), None)


def _short(function: str) -> str:
    """A qualified name without `<locals>`: `over_chunks.part.<lambda>`."""
    return function.replace("<locals>.", "")


def source_label(frames: dict[int, Frame], frame_id: int) -> str:
    """`path:function` of the innermost jaxtune frame of an op's stack, with the library it
    went through (`optax <- population/step.py:train_step`); the innermost frame when none
    is jaxtune's."""
    library = None
    innermost = None
    seen = set()
    while frame_id in frames and frame_id not in seen:
        seen.add(frame_id)
        frame = frames[frame_id]
        innermost = innermost or frame
        relative = _relative(frame.file)
        if relative is not None:
            label = f"{relative}:{_short(frame.function)}"
            return f"{library} <- {label}" if library else label
        library = library or _library(frame.file)
        frame_id = frame.parent
    if innermost is None:
        return "(no source)"
    return f"{Path(innermost.file).name}:{_short(innermost.function)}"


def op_kind(name: str) -> str:
    """`copy.12` -> `copy`, `loop_add_fusion.3` -> `loop_add_fusion`."""
    return re.sub(r"\.\d+$", "", name)
