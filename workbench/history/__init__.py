"""The refit history: every fit appended to one SQLite file, and drift judged against it.

* ``store``  – the file: checked before any write, appended safely by concurrent fits, read back;
* ``drift``  – the arithmetic: parameter z-scores, relative changes, a worse metric, in words;
* ``record`` – what a fit (``FitRecorder``) and a sweep (``record_fit``) call;
* ``table``  – the rows flattened for ``workbench history`` (table, CSV, JSON);
* ``page``   – the HTML page of each parameter's trajectory with its ±2 se band.

It imports only the standard library, numpy and the workbench's utilities (matplotlib lazily,
for the page), never the pipeline, the report or the sweep.
"""

from workbench.history.drift import DriftSettings, summary_lines
from workbench.history.record import FitRecorder, record_fit
from workbench.history.store import FitRow, check_history, read_rows

__all__ = ["DriftSettings", "FitRecorder", "FitRow", "check_history", "read_rows", "record_fit", "summary_lines"]
