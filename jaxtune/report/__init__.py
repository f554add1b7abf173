"""The sweep report: ranking, hyperparameter effects, curves, cell types, recommendations.

`analysis` turns results.jsonl into plain data, `figures` draws it (matplotlib, Agg),
`document` renders blocks to Markdown and self-contained HTML, `build` assembles them.
"""

from jaxtune.report.analysis import ReportError
from jaxtune.report.build import write_report

__all__ = ["ReportError", "write_report"]
