"""Recording a fit in the history and judging it against the fits before it.

A fit with a history goes through ``FitRecorder`` in three steps, so that the exit status for
drift comes only after everything is written:

1. ``FitRecorder(path, settings)`` before the fit runs: a corrupt or foreign file is refused
   now (exit 2), and a location where the history cannot be created or written is exit 74,
   both before the fit and before any output is written (a new history is created empty);
2. ``annotate(result)`` once the fit is done, before its files are written: adds ``drift``,
   ``drift_history`` and ``drift_check`` to the result;
3. ``record(result)`` after the files are written: appends the fit (with its drift flag).

``raise_for_drift`` then raises ``DriftError`` (exit 5) when something drifted. A sweep records
its best run with ``record_fit`` (no drift judgement: a sweep's best is no refit).
"""

from __future__ import annotations

import socket
from pathlib import Path

from workbench.errors import DriftError
from workbench.history.drift import MAX_TRAJECTORY, DriftSettings, compare, describe, trajectories
from workbench.history.store import FitRow, append, ensure_writable, read_rows, utc_now

FIT = "fit"
SWEEP = "sweep"


def row_for(result: dict, *, time: str, source: str, label: str | None = None) -> FitRow:
    """The history row for a result.json payload."""
    data = result.get("data") or {}
    drift = result.get("drift") or []
    return FitRow(time=time, name=str(result["name"]), params=dict(result["params"]),
                  stderr=dict(result["stderr"]), metrics=dict(result.get("metrics") or {}),
                  converged=bool(result["converged"]), status=str(result.get("status") or ""),
                  workbench_version=str(result.get("workbench_version") or ""), source=source, label=label,
                  host=socket.gethostname(), data_path=data.get("path"), data_sha256=data.get("sha256"),
                  loss=result.get("loss"), drift=bool(drift), drift_detail=list(drift))


def record_fit(history_path: Path | str, result: dict, *, source: str = SWEEP, label: str | None = None) -> int:
    """Append the fit whose result.json payload is ``result`` to the history; its row id.

    For callers that record without judging drift (a sweep's best run: ``label`` says which
    run). ``InputError`` (exit 2, file untouched) for a corrupt or foreign history."""
    return append(Path(history_path), row_for(result, time=utc_now(), source=source, label=label))


class FitRecorder:
    """The history of one ``workbench fit`` (see the module docstring)."""

    def __init__(self, path: Path | str, settings: DriftSettings):
        self.path = Path(path)
        self.settings = settings
        self.time: str | None = None
        ensure_writable(self.path)

    def annotate(self, result: dict) -> None:
        """Compare ``result`` with the last converged fit of its name; add the drift fields."""
        self.time = utc_now()
        earlier = read_rows(self.path, str(result["name"]), converged_only=True, source=FIT,
                            last=MAX_TRAJECTORY - 1)
        check = {"history": str(self.path), "compared_with": None, "threshold": self.settings.threshold,
                 "relative_tolerance": self.settings.relative_tolerance,
                 "metric_tolerance": self.settings.metric_tolerance}
        result["drift"] = []
        if not earlier:
            check["note"] = f"the first converged fit named {result['name']!r}: nothing to compare with"
        elif not result["converged"]:
            check["note"] = "this fit did not converge, so it was not compared with the earlier fits"
        else:
            check["compared_with"] = earlier[-1].time
            check["note"] = f"compared with the fit of {earlier[-1].time}"
            result["drift"] = compare(earlier[-1], result, self.settings)
        result["drift_check"] = check
        result["drift_history"] = trajectories(earlier, result, self.time)

    def record(self, result: dict) -> int:
        return append(self.path, row_for(result, time=self.time or utc_now(), source=FIT))

    def raise_for_drift(self, result: dict, outcome=None) -> None:
        """``DriftError`` (exit 5) naming what moved, when anything did; ``outcome`` rides along
        (``err.outcome``) so that the command line can still print the fit's summary."""
        drift = result.get("drift") or []
        if not drift:
            return
        err = DriftError(f"the fit drifted against the fit of {result['drift_check']['compared_with']} in "
                         f"{self.path}: " + "; ".join(describe(entry) for entry in drift))
        err.outcome = outcome
        raise err
