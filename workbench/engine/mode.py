"""Global switches of the engine: whether operations are recorded, and forward mode.

Recording is what costs memory and time, so evaluation code that needs no gradient (a line
search trying a step, a validation loss) turns it off with ``no_grad()``. The engine is
single-threaded by design; a sweep runs fits in separate processes, each with its own switches.
"""

from __future__ import annotations

import contextlib


class _Mode:
    __slots__ = ("recording", "forward", "watch", "made", "begun")

    def __init__(self) -> None:
        self.recording = True   # build graph nodes for operations on tensors that require grad
        self.forward = 0        # > 0 while a forward-mode (jvp) sweep is propagating tangents
        self.watch = None       # while a tape records: a list noting value-dependent control
        self.made = None        # while a transform evaluates f: a weak reference to each recorded result, in order
        self.begun = 0          # transforms and backward sweeps begun: a transform compares it before and after f


def note_value_dependence(what: str) -> None:
    """While a tape records, note that ``what`` turned a value into control (a comparison, a
    Python number): a replay would keep the recorded result instead of computing it again."""
    if MODE.watch is not None and what not in MODE.watch:
        MODE.watch.append(what)


MODE = _Mode()


class _Switch(contextlib.ContextDecorator):
    """Context manager and decorator that sets ``MODE.recording`` and restores it after."""

    def __init__(self, recording: bool) -> None:
        self.recording = recording
        self._saved: list[bool] = []

    def __enter__(self):
        self._saved.append(MODE.recording)
        MODE.recording = self.recording
        return self

    def __exit__(self, *exc) -> bool:
        MODE.recording = self._saved.pop()
        return False


def no_grad() -> _Switch:
    """Run a block without recording: results never require grad, nothing is kept for backward."""
    return _Switch(False)


def enable_grad() -> _Switch:
    """Record again inside a ``no_grad`` block (the backward pass uses it for ``create_graph``)."""
    return _Switch(True)


def is_recording() -> bool:
    return MODE.recording


__all__ = ["no_grad", "enable_grad", "is_recording", "MODE", "note_value_dependence"]
