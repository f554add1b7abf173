"""report/document.py: blocks rendered to Markdown and to one self-contained HTML page."""

import base64
import re

import pytest

from jaxtune.report.document import (
    Code,
    Figure,
    Heading,
    Paragraph,
    Strong,
    Table,
    to_html,
    to_markdown,
)

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # any bytes: the page only embeds them


def test_paragraph_keeps_its_runs_in_order():
    paragraph = Paragraph("a ", Strong("b"), " c")
    assert paragraph.runs == ("a ", Strong("b"), " c")
    assert Paragraph().runs == ()


def test_markdown_headings_use_one_hash_per_level(tmp_path):
    blocks = [Heading("Title", 1), Heading("Section"), Heading("Sub", 3)]
    assert to_markdown(blocks, tmp_path) == "# Title\n\n## Section\n\n### Sub\n"


def test_markdown_bold_keeps_surrounding_spaces_outside_the_markers(tmp_path):
    paragraph = Paragraph("Best: ", Strong(" trial 3 "), ", ", Strong("x"), Strong("   "))
    assert to_markdown([paragraph], tmp_path) == "Best:  **trial 3** , **x**   \n"


def test_markdown_table_aligns_escapes_and_defaults_to_left(tmp_path):
    table = Table(
        ("name", "a|b", "score"),
        (("x|y", Strong("two\nlines"), "0.5"), ("plain", "", "1")),
        (False, False),  # shorter than the header: the rest left-aligned
    )
    right = Table(("value", "n"), (("v", "3"),), (False, True))
    lines = to_markdown([table, right], tmp_path).split("\n\n")
    assert lines[0].splitlines() == [
        "| name | a\\|b | score |",
        "| --- | --- | --- |",
        "| x\\|y | **two lines** | 0.5 |",
        "| plain |  | 1 |",
    ]
    assert lines[1].splitlines()[1] == "| --- | ---: |"


def test_markdown_figure_links_relative_to_the_sweep_directory(tmp_path):
    figure = Figure(tmp_path / "figures" / "overview.png", "all hyperparameters")
    assert to_markdown([figure], tmp_path) == "![all hyperparameters](figures/overview.png)\n"
    with pytest.raises(ValueError):
        to_markdown([figure], tmp_path / "elsewhere")  # a figure outside the sweep directory


def test_markdown_code_is_fenced_with_its_language_and_trailing_space_dropped(tmp_path):
    blocks = [Code("model:\n  dropout: 0.1\n\n\n", "yaml"), Code("plain")]
    assert to_markdown(blocks, tmp_path) == (
        "```yaml\nmodel:\n  dropout: 0.1\n```\n\n```\nplain\n```\n"
    )


def test_markdown_blocks_are_separated_by_one_blank_line(tmp_path):
    text = to_markdown([Heading("A"), Paragraph("one"), Paragraph("two")], tmp_path)
    assert text == "## A\n\none\n\ntwo\n"
    assert to_markdown([], tmp_path) == "\n"


def test_html_escapes_text_and_title():
    page = to_html([Heading("a < b", 3), Paragraph("x & y <script>", Strong("<b>"))], "report: <&>")
    assert "<title>report: &lt;&amp;&gt;</title>" in page
    assert "<h3>a &lt; b</h3>" in page
    assert '<p>x &amp; y &lt;script&gt;<strong class="hl">&lt;b&gt;</strong></p>' in page
    assert "<script>" not in page
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</body></html>\n")


def test_html_turns_backticks_into_code_in_text_but_not_in_bold_runs():
    page = to_html([Paragraph("run `jaxtune final DIR` once", Strong("`kept`"))], "t")
    assert "run <code>jaxtune final DIR</code> once" in page
    assert '<strong class="hl">`kept`</strong>' in page


def test_html_table_marks_right_aligned_cells_and_bold_cells():
    table = Table(("name", "score"), (("a<1", "0.5"), (Strong("b"), "0.25")), (False, True))
    page = to_html([table], "t")
    [markup] = re.findall(r"<table>.*</table>", page)
    assert markup == (
        "<table><tr><th>name</th><th>score</th></tr>"
        "<tr><td>a&lt;1</td><td class=num>0.5</td></tr>"
        '<tr><td><strong class="hl">b</strong></td><td class=num>0.25</td></tr></table>'
    )


def test_html_embeds_each_figure_as_a_data_uri_with_its_caption(tmp_path):
    path = tmp_path / "figures" / "f.png"
    path.parent.mkdir()
    path.write_bytes(PNG_BYTES)
    page = to_html([Figure(path, 'best "val" <loss>')], "t")
    [data] = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert base64.b64decode(data) == PNG_BYTES
    assert 'alt="best &quot;val&quot; &lt;loss&gt;"' in page
    assert "<figcaption>best &quot;val&quot; &lt;loss&gt;</figcaption>" in page
    assert str(tmp_path) not in page  # nothing refers to a file


def test_html_code_is_escaped_preformatted_text():
    page = to_html([Code("a: `<b>`\n\n", "yaml")], "t")
    assert "<pre><code>a: `&lt;b&gt;`</code></pre>" in page
