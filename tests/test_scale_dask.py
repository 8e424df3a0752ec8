"""A fit whose chunk sums run as Dask tasks on a LocalCluster gives the local fit's parameters."""

from __future__ import annotations

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from workbench.config import load_config  # noqa: E402
from workbench.pipeline.fit import run_fit  # noqa: E402

CONFIG = """name: decay
data: {path: d.csv}
model: {formula: "y ~ a * exp(-b * x) + c"}
params: {a: 1.0, b: 0.3, c: 0.0}
output: {plots: false}
execution: {chunk_rows: 40}
"""


def test_fit_through_a_local_cluster_matches_the_local_fit(tmp_path):
    rng = np.random.default_rng(11)
    x = np.linspace(0.0, 5.0, 150)
    y = 2.0 * np.exp(-0.7 * x) + 0.3 + rng.normal(0.0, 0.02, x.size)
    (tmp_path / "d.csv").write_text("x,y\n" + "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in zip(x, y)) + "\n")
    (tmp_path / "c.yaml").write_text(CONFIG)
    local = run_fit(load_config(tmp_path / "c.yaml"), tmp_path / "local", reports=False)
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        overrides = [f"execution.scheduler={cluster.scheduler_address}"]
        remote = run_fit(load_config(tmp_path / "c.yaml", overrides), tmp_path / "remote", reports=False)
    assert remote.converged and local.converged
    for name, value in local.result["params"].items():
        assert remote.result["params"][name] == pytest.approx(value, rel=1e-9)
        assert remote.result["stderr"][name] == pytest.approx(local.result["stderr"][name], rel=1e-7)


def test_a_glob_of_three_files_is_read_by_the_workers_and_fits_like_the_local_fit(tmp_path, monkeypatch):
    from workbench.pipeline import dask_sums

    rng = np.random.default_rng(12)
    x = np.linspace(0.0, 5.0, 150)
    y = 2.0 * np.exp(-0.7 * x) + 0.3 + rng.normal(0.0, 0.02, x.size)
    (tmp_path / "parts").mkdir()
    for i, rows in enumerate(np.array_split(np.arange(x.size), 3)):
        (tmp_path / "parts" / f"p{i}.csv").write_text(
            "x,y\n" + "".join(f"{float(x[r])!r},{float(y[r])!r}\n" for r in rows))
    (tmp_path / "c.yaml").write_text(CONFIG.replace("d.csv", "parts/p*.csv"))
    marks = tmp_path / "read"
    marks.mkdir()

    def reading(template, partition):     # a task may run on a copy of this function: mark a file
        (marks / partition.options.path.name).write_text("read")
        return _read(template, partition)

    _read = dask_sums.read_partition
    monkeypatch.setattr(dask_sums, "read_partition", reading)
    local = run_fit(load_config(tmp_path / "c.yaml"), tmp_path / "local", reports=False)
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        overrides = [f"execution.scheduler={cluster.scheduler_address}"]
        remote = run_fit(load_config(tmp_path / "c.yaml", overrides), tmp_path / "remote", reports=False)
    assert sorted(p.name for p in marks.iterdir()) == ["p0.csv", "p1.csv", "p2.csv"]   # read by the tasks
    assert remote.prepared.optimizer_view is None                  # the client was closed
    assert remote.converged and local.converged
    for name, value in local.result["params"].items():
        assert remote.result["params"][name] == pytest.approx(value, rel=1e-9)
        assert remote.result["stderr"][name] == pytest.approx(local.result["stderr"][name], rel=1e-7)
