"""The sweep report: ranking, hyperparameter effects, curves, cell types, recommendations.

`analysis` turns the sweep directory into plain data, `figures` draws it (matplotlib,
Agg), `sections`, `conclusions` and `provenance` write the report's parts as blocks (`text`
formats values), `document` renders blocks to Markdown and self-contained HTML, and
`build` puts them in order and writes the files.
"""

from jaxtune.report.analysis import ReportError
from jaxtune.report.build import write_report

__all__ = ["ReportError", "write_report"]
