"""A report as a list of blocks, rendered to Markdown and to one self-contained HTML file."""

from __future__ import annotations

import base64
import dataclasses
import html
import re
from collections.abc import Sequence
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Strong:
    """Text shown in bold (a table cell or a run of a paragraph)."""

    text: str


Text = str | Strong


@dataclasses.dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclasses.dataclass(frozen=True)
class Paragraph:
    runs: tuple[Text, ...]

    def __init__(self, *runs: Text):
        object.__setattr__(self, "runs", runs)


@dataclasses.dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Text, ...], ...]
    align_right: tuple[bool, ...] = ()  # per column; default: left


@dataclasses.dataclass(frozen=True)
class Figure:
    path: Path  # a PNG inside the sweep directory
    caption: str


@dataclasses.dataclass(frozen=True)
class Code:
    text: str
    language: str = ""


Block = Heading | Paragraph | Table | Figure | Code


def _markdown_text(run: Text, in_table: bool = False) -> str:
    text = run.text if isinstance(run, Strong) else run
    if in_table:
        text = text.replace("|", "\\|").replace("\n", " ")
    if not isinstance(run, Strong) or not text.strip():
        return text
    core = text.strip()  # `**a **` is not bold in Markdown: keep the spaces outside
    start = text.index(core)
    return f"{text[:start]}**{core}**{text[start + len(core) :]}"


def to_markdown(blocks: Sequence[Block], root: Path) -> str:
    """Markdown with figures linked relative to `root` (the sweep directory)."""
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append("".join(_markdown_text(r) for r in block.runs))
        elif isinstance(block, Table):
            align = [
                "---:" if i < len(block.align_right) and block.align_right[i] else "---"
                for i in range(len(block.header))
            ]
            lines = [
                "| " + " | ".join(_markdown_text(h, True) for h in block.header) + " |",
                "| " + " | ".join(align) + " |",
            ]
            lines += [
                "| " + " | ".join(_markdown_text(c, True) for c in row) + " |" for row in block.rows
            ]
            out.append("\n".join(lines))
        elif isinstance(block, Figure):
            out.append(f"![{block.caption}]({block.path.relative_to(root).as_posix()})")
        elif isinstance(block, Code):
            out.append(f"```{block.language}\n{block.text.rstrip()}\n```")
    return "\n\n".join(out) + "\n"


CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1280px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .2em; }
h2 { border-bottom: 1px solid #eee; padding-bottom: .15em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 0.88em; display: block;
        overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: .25em .55em; white-space: nowrap; }
th { background: #f4f4f4; white-space: normal; vertical-align: bottom; }
tr:nth-child(even) td { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
strong.hl { color: #b35900; }
"""


def _html_text(run: Text) -> str:
    if isinstance(run, Strong):
        return f'<strong class="hl">{html.escape(run.text)}</strong>'
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(run))  # Markdown's inline code


def to_html(blocks: Sequence[Block], title: str) -> str:
    """One HTML file with every figure embedded as a base64 data URI: nothing else to fetch."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{CSS}</style></head><body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            out.append("<p>" + "".join(_html_text(r) for r in block.runs) + "</p>")
        elif isinstance(block, Table):
            right = [
                i < len(block.align_right) and block.align_right[i]
                for i in range(len(block.header))
            ]
            rows = ["<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in block.header) + "</tr>"]
            for row in block.rows:
                cells = "".join(
                    f"<td{' class=num' if right[i] else ''}>{_html_text(c)}</td>"
                    for i, c in enumerate(row)
                )
                rows.append(f"<tr>{cells}</tr>")
            out.append("<table>" + "".join(rows) + "</table>")
        elif isinstance(block, Figure):
            data = base64.b64encode(block.path.read_bytes()).decode("ascii")
            caption = html.escape(block.caption)
            out.append(
                f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
        elif isinstance(block, Code):
            out.append(f"<pre><code>{html.escape(block.text.rstrip())}</code></pre>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
