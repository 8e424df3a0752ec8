"""The chunk sums of a fit computed by Dask tasks: only (p+1) × (p+1) triangles travel per step.

``DaskChunkedObjective`` is a ``ChunkedObjective`` whose rows live on the cluster's workers and
stay there; every evaluation submits one small task per partition (the triangles of [J | r] of
its chunks, their losses and gradients) and gathers p-sized results. The rows get there in one
of two ways:

* ``partitions`` given (``data.path`` is a glob of files, ``workbench.data.multi``): a task per
  file reads that file where it runs, with the fit's data options, and keeps the fit's rows of it
  (the client sends a file name and row indices, never the rows);
* otherwise the client's chunks are sent once (``Client.scatter``);
* ``on_parts``: the files' ``FilePart``s already held on the workers (``workbench.pipeline.dask_data``,
  where the client never holds the table); the view then shares the client it was given.

``close()`` releases the workers' copies and the connection. dask.distributed is imported here
only (the ``cluster`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.errors import InputError
from workbench.pipeline.chunks import ChunkedObjective


@dataclass(frozen=True)
class Partition:
    """One file of a glob and the indices of the fit's rows among the rows it yields."""

    options: object          # the data options with ``path`` set to this file
    rows: np.ndarray | None  # None: every row, kept as a ``FilePart`` (``dask_data``)
    columns: tuple = ()      # with ``rows`` None: the columns to read
    index: int = 0           # with ``rows`` None: the file's place among the glob's files


class DaskChunkedObjective(ChunkedObjective):
    def __init__(self, objective, chunk_rows: int, scheduler: str, partitions: list[Partition] | None = None,
                 weights_column: str | None = None):
        super().__init__(objective, chunk_rows)
        self.owns_client, self.mapper = True, _map_part
        self.client = connect(scheduler)
        if partitions:
            template = Template.of(objective, self.chunk_rows, weights_column)
            self.parts = [self.client.submit(read_partition, template, part, pure=False) for part in partitions]
        else:
            self.parts = self.client.scatter([ChunkedObjective(self.chunk(start, stop), self.chunk_rows)
                                              for start, stop in self.bounds])

    @classmethod
    def on_parts(cls, objective, chunk_rows: int, client, parts: list, n_rows: int,
                 validation: bool = False) -> "DaskChunkedObjective":
        """The sums over ``FilePart``s held on ``client``'s workers: their fitted rows (``n_rows`` in
        all; ``objective`` is the client's sample, for the penalty), or with ``validation`` their
        held-out rows. Closing it leaves the parts and the client to their owner."""
        view = cls.__new__(cls)
        ChunkedObjective.__init__(view, objective, chunk_rows)
        view.n_rows, view.client, view.parts, view.owns_client = int(n_rows), client, parts, False
        view.mapper = _map_validation_part if validation else _map_part
        return view

    def map_chunks(self, function) -> list:
        results = self.client.gather([self.client.submit(self.mapper, function, part, pure=False)
                                      for part in self.parts])
        return [result for part in results for result in part]

    def close(self) -> None:
        """Release the rows held on the workers and the connection (the end of a fit)."""
        if not self.owns_client:
            return
        try:
            self.client.cancel(self.parts)
        finally:
            self.client.close()


CLUSTER_HINT = "pip install 'workbench[cluster]'"
CONNECT_TIMEOUT_S = 8.0   # with start-up, an unreachable scheduler is reported within 10 s


def connect(scheduler: str, *, timeout: float = CONNECT_TIMEOUT_S, where: str = "execution.scheduler"):
    """A client of the Dask scheduler at ``scheduler``. Bad input (exit 2, one line naming the
    address, prefixed by ``where``: the config key or the option it came from) when
    dask.distributed is missing or no Dask scheduler answers there within ``timeout`` seconds."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError(f"a Dask scheduler needs dask.distributed, which is not installed: {CLUSTER_HINT}",
                         where=where) from None
    probe_scheduler(scheduler, timeout, where)
    try:
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except Exception as err:  # noqa: BLE001 - any failure to connect is the address's problem
        raise InputError(f"cannot connect to the Dask scheduler at {scheduler}: {_reason(err)}", where=where) from None


def probe_scheduler(address: str, timeout: float, where: str) -> None:
    """Ask ``address`` who it is, within ``timeout`` seconds; ``InputError`` unless a Dask
    scheduler answers. Probing first, without a ``Client``, keeps a failure quick and quiet: a
    ``Client`` that failed to connect spends another 2 × timeout closing itself, and one given a
    malformed address complains again when it is garbage-collected."""
    import asyncio

    from distributed.comm import connect as open_comm

    async def identity() -> object:
        comm = await open_comm(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            await comm.close()

    try:
        reply = asyncio.run(asyncio.wait_for(identity(), timeout))
    except TimeoutError:      # asyncio.TimeoutError too, since Python 3.11
        reason = f"no answer within {timeout:g} s"
    except MemoryError:   # a server that is not Dask: its first bytes read as an absurd frame length
        reason = "the server there does not answer like a Dask scheduler"
    except Exception as err:  # noqa: BLE001 - refused, unknown host, bad address, not Dask...
        reason = _reason(err)
    else:
        if isinstance(reply, dict) and reply.get("type") == "Scheduler":
            return
        reason = "the server there is not a Dask scheduler"
    raise InputError(f"cannot reach the Dask scheduler at {address} ({reason})", where=where)


def _reason(err: BaseException) -> str:
    """The first line of ``err``, with its type unless the text says enough on its own."""
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}" if text and not isinstance(err, (OSError, ValueError)) else (
        text or type(err).__name__)


@dataclass(frozen=True)
class Template:
    """What a worker needs to build its partition's objective, without any of the rows."""

    model: object
    loss: object
    weights: str | None
    free: list
    fixed: dict
    ls_scale: float | None
    chunk_rows: int

    @classmethod
    def of(cls, objective, chunk_rows: int, weights_column: str | None) -> "Template":
        return cls(objective.model, objective.loss, weights_column, objective.free, objective.fixed,
                   objective._ls_scale, chunk_rows)


def read_partition(template: Template | None, partition: Partition):
    """A worker's task: read one file, keep the fit's rows of it, and wrap them in row chunks;
    without a ``template`` (``partition.rows`` None), keep all its rows as a ``FilePart``."""
    from workbench.data import load_dataset
    from workbench.pipeline.objective import FitObjective

    if template is None:
        from workbench.pipeline.dask_parts import FilePart

        return FilePart(load_dataset(partition.options, list(partition.columns)), partition.index)
    model = template.model
    needed = list(dict.fromkeys([model.target, *model.inputs, *([template.weights] if template.weights else [])]))
    data = load_dataset(partition.options, needed)
    rows = partition.rows
    weights = None if template.weights is None else data.columns[template.weights][rows]
    part = FitObjective(model, template.loss, {c: data.columns[c][rows] for c in model.inputs},
                        data.columns[model.target][rows], weights, template.free, template.fixed)
    part._ls_scale = template.ls_scale          # the whole fit's residual scale, not this file's
    return ChunkedObjective(part, template.chunk_rows)


def _map_part(function, part: ChunkedObjective) -> list:
    return part.map_chunks(function)


def _map_validation_part(function, part) -> list:
    return part.map_validation_chunks(function)


def file_partitions(dataset, options, train_rows: np.ndarray) -> list[Partition]:
    """One ``Partition`` per file of a glob: that file's options and its rows among ``train_rows``."""
    from workbench.data.multi import file_options

    starts = np.concatenate([[0], np.cumsum(np.bincount(dataset.file_of_row, minlength=len(dataset.files)))])
    owner = dataset.file_of_row[train_rows]
    return [Partition(file_options(options, path), train_rows[owner == i] - starts[i])
            for i, path in enumerate(dataset.files)]
