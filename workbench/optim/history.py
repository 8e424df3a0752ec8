"""A per-step log whose memory stays bounded however long a run lasts.

``ThinnedLog`` keeps the first entry, the latest one, and in between every ``stride``-th step,
where the stride doubles (and every other kept entry is dropped) whenever more than ``limit``
entries would be held. A fit with ``max_steps: 1e12`` therefore holds at most ``limit + 1``
entries, spread evenly over the whole run, which is what a convergence plot and history.csv need.
"""

from __future__ import annotations

from typing import Generic, TypeVar

Item = TypeVar("Item")

HISTORY_LIMIT = 2000  # entries held in memory per run (history.csv and plots are drawn from these)


class ThinnedLog(Generic[Item]):
    """Items recorded by step number; ``items()`` is the thinned list in step order."""

    def __init__(self, limit: int = HISTORY_LIMIT):
        if limit < 2:
            raise ValueError("a thinned log keeps at least 2 entries")
        self.limit = limit
        self.stride = 1
        self._kept: list[tuple[int, Item]] = []
        self._latest: tuple[int, Item] | None = None

    def append(self, step: int, item: Item) -> None:
        self._latest = (step, item)
        if step % self.stride:
            return
        self._kept.append((step, item))
        if len(self._kept) > self.limit:
            self.stride *= 2
            self._kept = [(s, kept) for s, kept in self._kept if s % self.stride == 0]

    def items(self) -> list[Item]:
        out = [item for _, item in self._kept]
        if self._latest is not None and (not self._kept or self._kept[-1][0] != self._latest[0]):
            out.append(self._latest[1])
        return out

    def __len__(self) -> int:
        return len(self.items())
