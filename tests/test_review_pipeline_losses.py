"""The losses a cluster fit reads without wanting a gradient (the held-out loss the monitor asks
for at every step, the whole table's loss for the uncertainties) are computed without one:
``ChunkedObjective.loss_value``, the same number as ``value_and_grad``'s."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.config import load_config
from workbench.pipeline.chunks import ChunkedObjective
from workbench.pipeline.prepare import prepare


@pytest.fixture
def gradient_free(tmp_path, monkeypatch):
    """(prepared, view, x): a chunked view of a weighted, penalized fit whose gradient is refused."""
    rng = np.random.default_rng(5)
    x1, x2, w = rng.normal(size=90), rng.uniform(0, 5, 90), rng.uniform(0.5, 2.0, 90)
    y = 0.4 + 1.5 * x1 - 0.3 * x2 + rng.normal(0, 0.1, 90)
    rows = (f"{a},{b},{c},{d}" for a, b, c, d in zip(x1, x2, w, y))
    (tmp_path / "d.csv").write_text("x1,x2,w,y\n" + "\n".join(rows) + "\n")
    (tmp_path / "c.yaml").write_text("data: {path: d.csv}\nmodel: {type: linear, inputs: [x1, x2], target: y}\n"
                                     "loss: {name: mse, weights: w, regularization: {l2: 0.3}}\n"
                                     "output: {plots: false}\n")
    prepared = prepare(load_config(tmp_path / "c.yaml"))
    view = ChunkedObjective(prepared.objective, 16)
    x = np.asarray(prepared.x0, dtype=float) + 0.2
    expected = view.value_and_grad(x)[0]

    def no_gradient(*args, **kwargs):
        raise AssertionError("a gradient was computed only to be thrown away")

    monkeypatch.setattr(view, "value_and_grad", no_gradient)
    monkeypatch.setattr(prepared.objective, "value_and_grad", no_gradient)
    return prepared, view, x, expected


def test_the_held_out_loss_of_a_cluster_table_takes_no_gradient(gradient_free):
    from workbench.pipeline.dask_data import ClusterTable

    prepared, view, x, expected = gradient_free
    table = ClusterTable.__new__(ClusterTable)          # its rows are the view's: no cluster needed
    table.objective = lambda prepared, validation=False: view
    assert table.validation_loss(prepared, x) == pytest.approx(expected, rel=1e-13)


def test_the_whole_tables_loss_for_the_uncertainties_takes_no_gradient(gradient_free):
    from workbench.pipeline.dask_results import _WholeTable

    prepared, view, x, expected = gradient_free
    assert _WholeTable(view, view.n_rows, prepared.objective).loss_value(x) == pytest.approx(expected, rel=1e-13)

