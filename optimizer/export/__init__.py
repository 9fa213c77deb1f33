"""The export layer: the only code that writes files, and the reader of written plans.

- `files`: `write_plan` (a plan folder or one workbook), CSVs and summary.json;
- `workbook`: the Excel workbook;
- `pictures`: floor plans and the utilization chart (matplotlib, Agg, no pyplot);
- `atomic`: all-or-nothing replacement of an output;
- `values`: the shared output conventions (rounding, names, colours);
- `read`: placements read back from a plan, for `rackfit check`;
- `report`: the HTML report (`rackfit report`, `plan --report`), made by `optimizer.report_html`.

Writers only write: every number comes from the Plan, which results.py filled.
"""

from optimizer.export.atomic import write_atomically
from optimizer.export.files import write_plan
from optimizer.export.pictures import (
    cluster_colours,
    floor_plan_figure,
    picture_names,
    utilization_figure,
)
from optimizer.export.read import read_plan_placements
from optimizer.export.values import output_tables, summary_for_output
from optimizer.export.workbook import sheet_title

__all__ = [
    "cluster_colours",
    "floor_plan_figure",
    "output_tables",
    "picture_names",
    "read_plan_placements",
    "sheet_title",
    "summary_for_output",
    "utilization_figure",
    "write_atomically",
    "write_plan",
]
