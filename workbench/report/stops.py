"""Why a fit stopped, as a catalog key and its fields, read from result.json (never its English text).

result.json's ``status`` says how a run ended (converged, max_steps, time_limit, timeout,
early_stopped, stalled, interrupted, diverged) and its ``message`` says why in the optimizer's
own English words. A report says it in its own language, so it turns the pair into a *reason*,
the suffix of a ``trust.*`` catalog key, with the numbers the sentence needs:

* a divergence has six causes, each with a different truth about the values shown: the loss
  (or its gradient) not finite at the start (the starting values are shown), or becoming
  non-finite at a step, every trial step non-finite, a parameter running away to infinity (the
  values of the step before), or the run ending at a non-finite point or with a loss far above
  the start (the starting values);
* a run that stalled above its starting loss, or on a plateau where the model is flat, is told
  apart from one that simply stalled; a 0/1 target whose classes the inputs separate
  (``separated``) has no finite estimate;
* an early stop by patience is told apart from a stop that a callback asked for.

The cause is recognised by the phrases of the optimizer's message functions
(``workbench.optim.base``, ``driver.honest``); a test builds each message with those functions
and checks its reason, so a reworded message cannot silently lose its sentence. An unknown
message falls back to a reason that claims no cause (``diverged.other``, ``stopped``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (reason, phrase of the optimizer's message); the first match wins
DIVERGENCE_CAUSES = (
    ("diverged.at_start", "not finite at the starting point"),
    ("diverged.runaway", "ran away at step"),
    ("diverged.no_finite_step", "every trial step"),
    ("diverged.nonfinite", "became non-finite at step"),
    ("diverged.end_nonfinite", "the loss at the end is not finite"),
    ("diverged.far_above", "the loss at the end"),
)
STALL_CAUSES = (("stalled.above_start", "above the starting loss"),
                ("stalled.flat", "does not change with any parameter"))
EARLY_CAUSES = (("early_stopped", "validation loss did not improve"),)
PLAIN_STATUSES = ("max_steps", "time_limit", "timeout", "interrupted", "separated")
RUNAWAY_PARAMETER = re.compile(r"parameter '([^']*)' ran away")


@dataclass(frozen=True)
class Stop:
    """Why a run stopped: ``reason`` (a ``trust.<reason>`` key) and the fields of its sentence."""

    reason: str
    fields: dict

    @property
    def diverged(self) -> bool:
        return self.reason.startswith("diverged")


def _cause(message: str, causes, fallback: str) -> str:
    return next((reason for reason, phrase in causes if phrase in message), fallback)


def stop_of(result: dict) -> Stop:
    """The reason result.json's run stopped, with ``steps``, ``step``, ``previous`` and ``param``."""
    status, message = str(result.get("status") or ""), str(result.get("message") or "")
    count = int(result.get("iterations") or 0)
    step = result.get("diverged_at")
    step = int(step) if step is not None else count
    fields = {"count": count, "step": step, "previous": max(step - 1, 0), "param": ""}
    if status == "diverged":
        reason = _cause(message, DIVERGENCE_CAUSES, "diverged.other")
        found = RUNAWAY_PARAMETER.search(message)
        if reason == "diverged.runaway" and found:
            fields["param"] = found.group(1)
        elif reason == "diverged.runaway":
            reason = "diverged.runaway_unnamed"
    elif status == "converged" and result.get("converged") is True and result.get("loss") is not None:
        reason = "converged"
    elif status == "stalled":
        reason = _cause(message, STALL_CAUSES, "stalled")
    elif status == "early_stopped":
        reason = _cause(message, EARLY_CAUSES, "stopped")
    elif status in PLAIN_STATUSES:
        reason = status
    else:
        reason = "stopped"
    return Stop(reason, fields)


def stop_sentence(result: dict, tr) -> str:
    """One sentence in the report's language: how and why the run ended, and what the values are."""
    from workbench.report.text import steps

    stop = stop_of(result)
    fields = dict(stop.fields)
    fields["steps"] = steps(fields.pop("count"), tr)
    return tr(f"trust.{stop.reason}", **fields)
