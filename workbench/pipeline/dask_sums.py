"""The chunk sums of a fit computed by Dask tasks: only (p+1) × (p+1) triangles travel per step.

``DaskChunkedObjective`` is a ``ChunkedObjective`` whose chunks are sent to the cluster's workers
once (``Client.scatter``) and stay there; every evaluation then submits one small task per chunk
(its triangle of [J | r], its loss and gradient) and gathers p-sized results. dask.distributed is
imported here only (the ``cluster`` extra).
"""

from __future__ import annotations

from workbench.errors import InfrastructureError, InputError
from workbench.pipeline.chunks import ChunkedObjective


class DaskChunkedObjective(ChunkedObjective):
    def __init__(self, objective, chunk_rows: int, scheduler: str):
        super().__init__(objective, chunk_rows)
        try:
            from distributed import Client
        except ImportError:
            raise InputError("a Dask scheduler needs dask.distributed: pip install 'workbench[cluster]'",
                             where="execution.scheduler") from None
        try:
            self.client = Client(scheduler, timeout="20s", set_as_default=False)
        except OSError as err:
            raise InfrastructureError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
        self.parts = self.client.scatter([self.chunk(start, stop) for start, stop in self.bounds])

    def map_chunks(self, function) -> list:
        return self.client.gather([self.client.submit(function, part, pure=False) for part in self.parts])
