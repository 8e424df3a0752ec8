"""erf, the primitive docs/engine.md §"Add your own primitive" walks through: one registration in
prims_math.py makes it a public function, a Tensor method, a formula function of the YAML configs,
a primitive under test (engine_specs) and a line of the formula sheet."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from workbench import engine as ad

ROOT = Path(__file__).resolve().parents[2]


def test_erf_is_exact_and_its_derivative_is_the_gaussian():
    x = np.linspace(-3.0, 3.0, 13)
    np.testing.assert_allclose(ad.erf(x), special.erf(x), rtol=1e-15, atol=1e-16)
    t = ad.Tensor(x, requires_grad=True)
    ad.sum(ad.erf(t)).backward()
    np.testing.assert_allclose(t.grad, 2.0 / np.sqrt(np.pi) * np.exp(-x * x), rtol=1e-15)
    report = ad.gradcheck(lambda v: ad.sum(ad.erf(v) * v), x[:5], per_node=True)
    assert report.passed and "erf" in {c.primitive for c in report.nodes.checks}
    _, tangent = ad.jvp(ad.erf, (np.array(0.5),), (np.array(1.0),))
    assert tangent == pytest.approx(2.0 / np.sqrt(np.pi) * np.exp(-0.25), rel=1e-15)


def test_one_registration_gives_every_listing():
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from engine_specs import UNARY

    from workbench.formula.ir import FUNCTIONS

    x = ad.Tensor([0.5], requires_grad=True)
    assert x.erf().data[0] == ad.erf(0.5)                     # a Tensor method
    assert "erf" in ad.__all__ and FUNCTIONS["erf"] == ("erf", 1)
    assert "erf" in UNARY                                    # the primitive tests run on it
    assert re.search(r"^  erf +y = erf x", ad.formula_sheet(), re.M)


def test_adding_erf_touched_one_file_of_the_package():
    mentions = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "workbench").rglob("*.py")
                      if re.search(r"\berf\b", p.read_text(encoding="utf-8")))
    assert mentions == ["workbench/engine/prims_math.py"]


def test_erf_in_a_yaml_formula_fits_a_cumulative_curve(tmp_path):
    from workbench.cli import main

    x = np.linspace(-2.0, 4.0, 40)
    y = 3.0 * special.erf(0.8 * (x - 1.0)) + 0.5
    (tmp_path / "curve.csv").write_text("x,y\n" + "\n".join(f"{a!r},{b!r}" for a, b in zip(x.tolist(), y.tolist())) + "\n")
    (tmp_path / "erf.yaml").write_text(textwrap.dedent("""
        name: erf-curve
        data: {path: curve.csv}
        model: {formula: "y ~ a * erf(b * (x - c)) + d"}
        params: {a: 2.0, b: 1.0, c: 0.5, d: 0.0}
        loss: mse
        optimizer: {name: lm, max_steps: 200}
    """))
    with pytest.raises(SystemExit) as stopped:
        main(["fit", str(tmp_path / "erf.yaml"), "--out", str(tmp_path / "out"), "--no-reports", "-q"])
    assert stopped.value.code == 0
    fitted = json.loads((tmp_path / "out" / "result.json").read_text())
    assert fitted["params"] == pytest.approx({"a": 3.0, "b": 0.8, "c": 1.0, "d": 0.5}, rel=1e-6)
