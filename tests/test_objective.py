"""The fit objective: recorded tapes give the ordinary path's numbers, and are not used where unsafe."""

from __future__ import annotations

import numpy as np
import pytest

from cli_helpers import write_config, write_csv
from workbench.config import load_config
from workbench.pipeline.prepare import prepare


def _objective(tmp_path, formula, loss="mse", params="{a: 1.5, b: 0.3, c: 0.1}"):
    x = np.linspace(0, 5, 25)
    write_csv(tmp_path, "d.csv", "x,y", zip(x, 2 * np.exp(-0.4 * x) + 0.5 + 0.01 * np.sin(7 * x)))
    config = write_config(tmp_path, f'data: {{path: d.csv}}\nmodel: {{formula: "{formula}"}}\n'
                                    f'params: {params}\nloss: {loss}\n')
    return prepare(load_config(config)).objective


def _fresh_graph_path(objective):
    objective._tapes = {"loss": None, "residuals": None}
    return objective


@pytest.mark.parametrize("loss", ["mse", "huber", "log_cosh", "mae"])
def test_taped_loss_and_gradient_equal_the_graph_path(tmp_path, loss):
    obj = _objective(tmp_path, "y ~ a * exp(-b * x) + c", "mse" if loss == "mse" else f"{{name: {loss}, delta: 0.05}}"
                     if loss == "huber" else loss)
    points = [np.array([1.5, 0.3, 0.1]), np.array([2.0, 0.41, 0.5]), np.array([-1.0, 2.0, 3.0])]
    taped = [obj.value_and_grad(p) for p in points]
    assert obj._tapes["loss"] is not None
    plain = [_fresh_graph_path(obj).value_and_grad(p) for p in points]
    for (v1, g1), (v2, g2) in zip(taped, plain):
        assert v1 == pytest.approx(v2, rel=1e-13) and g1 == pytest.approx(g2, rel=1e-12, abs=1e-300)


def test_taped_residual_jacobian_equals_the_graph_path(tmp_path):
    obj = _objective(tmp_path, "y ~ a * exp(-b * x) + c")
    x = np.array([2.5, 0.2, -0.3])
    r1, j1 = obj.residuals_and_jacobian(x)
    assert obj._tapes["residuals"] is not None
    r2, j2 = _fresh_graph_path(obj).residuals_and_jacobian(x)
    np.testing.assert_allclose(r1, r2, rtol=1e-14)
    np.testing.assert_allclose(j1, j2, rtol=1e-13)


def test_a_formula_with_where_is_never_taped(tmp_path):
    obj = _objective(tmp_path, "y ~ where(x < b, a, c)", params="{a: 1.0, b: 2.0, c: 0.5}")
    low = obj.residuals(np.array([1.0, 2.0, 0.5]))
    high = obj.residuals(np.array([1.0, 4.0, 0.5]))     # the switch point moves with b
    assert obj._tapes["residuals"] is None
    assert np.sum(high != low) > 0
