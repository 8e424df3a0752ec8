"""One verdict everywhere, the exit status included (issue 8): a fit whose own gradient check
fails writes every output and then exits 1 with one line saying so; gradcheck.html shows the
verdict word (verified, inconclusive, failed) that result.json and the console show."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_helpers import run_main, write_config, write_csv
from workbench import engine as ad
from workbench.engine.graph import Primitive


@pytest.fixture
def decay(tmp_path):
    rng = np.random.default_rng(3)
    x = np.linspace(0, 8, 40)
    y = 3.2 * np.exp(-0.45 * x) + 0.8 + rng.normal(0, 0.02, x.size)
    write_csv(tmp_path, "decay.csv", "x,y", zip(x.round(4), y.round(5)))
    return write_config(tmp_path, """
        name: decay
        data: {path: decay.csv}
        model: {formula: "y ~ a * exp(-b * x) + c"}
        params: {a: 3.0, b: {init: 0.4, min: 0}, c: 1.0}
        optimizer: {name: lm, max_steps: 200}
        output: {dir: out, formats: [html]}
    """)


@pytest.fixture
def bad_exp(monkeypatch):
    """The test-only wrong rule: exp whose derivative is 1% too large."""
    wrong = Primitive("bad_exp", np.exp, vjp=lambda g, ans, x: g * ans * 1.01,
                      jvp=lambda t, ans, x: t * ans, elementwise=True)
    monkeypatch.setattr(ad, "exp", wrong)
    return wrong


def test_a_fit_whose_gradient_check_fails_writes_everything_then_exits_1(decay, tmp_path, bad_exp, capsys):
    assert run_main("fit", str(decay), "--no-reports") == 1
    captured = capsys.readouterr()
    out = tmp_path / "out"
    result = json.loads((out / "result.json").read_text())
    assert result["gradient_check"]["verdict"] == "failed"
    assert result["gradient_check"]["failed_primitives"] == ["bad_exp"]
    assert (out / "params.csv").is_file() and (out / "predictions.csv").is_file()
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1, captured.err
    assert errors[0].startswith("error: the gradient check failed: the derivative rule of bad_exp disagrees")
    assert "Traceback" not in captured.err
    assert f"gradient check FAILED: {result['gradient_check']['detail']}" in captured.out


def test_quiet_fit_still_says_it_in_one_line_and_exits_1(decay, tmp_path, bad_exp, capsys):
    assert run_main("fit", str(decay), "--no-reports", "-q") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and "bad_exp" in captured.err


def test_a_fit_with_correct_derivatives_exits_0_with_the_verdict_in_result_json(decay, tmp_path, capsys):
    assert run_main("fit", str(decay), "--no-reports") == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["gradient_check"]["verdict"] in ("verified", "inconclusive")
    assert capsys.readouterr().err == ""


def _verdict_section(html: str) -> str:
    start = html.index('<section id="verdict">')
    return html[start:html.index("</section>", start)]


def test_gradcheck_html_shows_the_failed_verdict_and_names_the_primitive(decay, tmp_path, bad_exp):
    assert run_main("check", str(decay), "--at", "init") == 1
    html = (tmp_path / "out" / "gradcheck.html").read_text()
    report = json.loads((tmp_path / "out" / "gradcheck.json").read_text())
    section = _verdict_section(html)
    assert report["verdict"] == "failed"
    assert '<span class="fail">failed</span>' in section
    assert report["detail"] in section
    assert "PASSED" not in html and "FAILED" not in html


def test_gradcheck_html_shows_verified_or_inconclusive_as_in_gradcheck_json(decay, tmp_path):
    assert run_main("check", str(decay), "--rows", "2") == 0
    html = (tmp_path / "out" / "gradcheck.html").read_text()
    report = json.loads((tmp_path / "out" / "gradcheck.json").read_text())
    section = _verdict_section(html)
    assert report["verdict"] in ("verified", "inconclusive")
    assert f'<span class="pass">{report["verdict"]}</span>' in section
    assert report["detail"] in section
    for point in report["points"]:
        assert f'Verdict: <span class="pass">{point["verdict"]}</span>' in html
    assert "PASSED" not in html


@pytest.fixture
def mae_line(tmp_path):
    """An mae fit whose optimum sits on abs's kink (residuals exactly 0): no derivative is wrong."""
    write_csv(tmp_path, "line.csv", "x,y", [(x, round(2.0 * x + 1.0 + 0.1 * (-1) ** x, 3)) for x in range(12)])
    return write_config(tmp_path, """
        name: mae
        data: {path: line.csv}
        model: {formula: "y ~ a * x + b"}
        params: {a: 1.0, b: 1.0}
        loss: mae
        optimizer: {name: gd}
        output: {dir: out, formats: []}
    """)


def test_an_mae_fit_at_the_kink_of_abs_is_not_a_failed_check(mae_line, tmp_path):
    assert run_main("fit", str(mae_line), "--no-reports", "-q") == 0
    check = json.loads((tmp_path / "out" / "result.json").read_text())["gradient_check"]
    assert check["verdict"] in ("verified", "inconclusive") and check["failed_primitives"] == []


def test_a_wrong_abs_rule_still_fails_away_from_the_kink(mae_line, tmp_path, monkeypatch, capsys):
    wrong = Primitive("abs", np.abs, vjp=lambda g, ans, x: g * x / (ans + 1e-300) * 1.05,   # sign(x), 5% off
                      jvp=lambda t, ans, x: t * x / (ans + 1e-300), elementwise=True)
    monkeypatch.setattr(ad, "abs", wrong)
    assert run_main("fit", str(mae_line), "--no-reports", "-q") == 1
    check = json.loads((tmp_path / "out" / "result.json").read_text())["gradient_check"]
    assert check["verdict"] == "failed" and check["failed_primitives"] == ["abs"]
    assert "the derivative rule of abs disagrees" in capsys.readouterr().err
