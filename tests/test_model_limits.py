"""Model size limits (issue 9): a model too large for the machine is refused quickly, before any
large allocation, as exit 2 with one line naming the key and the limit.

The refusals run the CLI in a subprocess under a lowered address-space limit (1.5 GB): were any
of these models built or evaluated first, the process would die of MemoryError instead of
answering with the limit. A network that fits the limits is fitted, and its uncertainties say
which method was used and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cli_helpers import write_config, write_csv

ADDRESS_SPACE = int(1.5 * 2**30)


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_limited(*args: str, cwd, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``workbench ARGS`` in a process that cannot hold more than 1.5 GB of address space."""
    # The limit bounds what the process can use: allocators that reserve address space they never
    # touch (pyarrow's pool, glibc's per-thread arenas, BLAS threads) are set to reserve little.
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                       ARROW_DEFAULT_MEMORY_POOL="system", MALLOC_ARENA_MAX="2")
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=environment, preexec_fn=_limit_memory)


def assert_refused(proc: subprocess.CompletedProcess, *phrases: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "MemoryError" not in proc.stderr and "Traceback" not in proc.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def small_data(tmp_path):
    x = np.arange(1, 201)
    write_csv(tmp_path, "data.csv", "x,y", zip(x, np.round(np.sin(x / 20) + 0.01 * x, 5)))
    return tmp_path


def model_config(folder, model: str, data: str = "data.csv", extra: str = ""):
    return write_config(folder, f"""
        name: big
        data: {{path: {data}}}
        model: {model}
        output: {{dir: out, formats: [], plots: false}}
        {extra}
    """)


@pytest.mark.parametrize("command", ["validate", "fit"])
def test_a_degree_1e9_polynomial_is_refused_naming_model_degree(small_data, command):
    config = model_config(small_data, "{type: polynomial, inputs: [x], target: y, degree: 1000000000}")
    line = assert_refused(run_limited(command, str(config), cwd=small_data),
                          "config.yaml: model.degree:", "degree 1,000,000,000", "the limit is 100",
                          "WORKBENCH_MODEL_MAX_DEGREE")
    assert line.startswith("error: ")
    assert not (small_data / "out").exists()


def test_a_3000_layer_mlp_is_refused_naming_model_hidden(small_data):
    hidden = ", ".join(["8"] * 3000)
    config = model_config(small_data, f"{{type: mlp, inputs: [x], target: y, hidden: [{hidden}]}}")
    assert_refused(run_limited("validate", str(config), cwd=small_data),
                   "model.hidden:", "3,000 hidden layers", "the limit is 100", "WORKBENCH_MODEL_MAX_LAYERS")


@pytest.mark.parametrize("command", ["validate", "fit"])
def test_an_mlp_with_hidden_5000_5000_is_refused_by_its_parameter_count(small_data, command):
    config = model_config(small_data, "{type: mlp, inputs: [x], target: y, hidden: [5000, 5000]}")
    assert_refused(run_limited(command, str(config), cwd=small_data),
                   "model.hidden:", "25,020,001 parameters", "the limit is 1,000,000", "WORKBENCH_MODEL_MAX_PARAMS")


def test_an_mlp_256_256_over_a_million_rows_is_refused_before_it_is_evaluated(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 1_000_000)
    (tmp_path / "rows.csv").write_text("x,y\n" + "\n".join(f"{v:.4f},{np.sin(v):.4f}" for v in x) + "\n")
    # in one chunk of a million rows: a chunked fit evaluates execution.chunk_rows rows at a time
    config = model_config(tmp_path, "{type: mlp, inputs: [x], target: y, hidden: [256, 256]}", "rows.csv",
                          "execution: {chunk_rows: 1000000}")
    line = assert_refused(run_limited("fit", str(config), "--no-reports", cwd=tmp_path),
                          "model.hidden:", "1,000,000 rows", "WORKBENCH_MODEL_MAX_ELEMENTS")
    assert "GB" in line
    # The refusal is what saves the process: with the limit lifted, the same fit runs out of memory.
    lifted = run_limited("fit", str(config), "--no-reports", cwd=tmp_path,
                         env={"WORKBENCH_MODEL_MAX_ELEMENTS": str(10**12)})
    assert lifted.returncode == 70 and "MemoryError" in lifted.stderr


def test_the_limits_are_raised_by_their_environment_variable(small_data):
    config = model_config(small_data, "{type: polynomial, inputs: [x], target: y, degree: 120}")
    assert_refused(run_limited("validate", str(config), cwd=small_data), "degree 120")
    proc = run_limited("validate", str(config), cwd=small_data, env={"WORKBENCH_MODEL_MAX_DEGREE": "150"})
    assert proc.returncode == 0, proc.stderr
    assert "c120" in proc.stdout


def test_a_lowered_element_limit_refuses_lm_naming_the_optimizer_and_auto_picks_lbfgs(small_data, monkeypatch):
    from workbench.config import load_config
    from workbench.errors import InputError
    from workbench.pipeline.prepare import prepare

    formula = '{formula: "y ~ a * exp(-b * x / 100) + c"}'
    named = model_config(small_data, formula, extra="optimizer: {name: lm}")
    # 11 nodes + 4 loss values per row, 200 rows: an evaluation holds 2 × 200 × 15 = 6,000 numbers,
    # lm's Jacobian 3 × (3 + 200 × 15) = 9,009
    monkeypatch.setenv("WORKBENCH_MODEL_MAX_ELEMENTS", "9000")
    with pytest.raises(InputError) as refused:
        prepare(load_config(named))
    assert "optimizer.name:" in str(refused.value)
    assert "forward-mode Jacobian of 3 parameters over 200 rows would hold about 9,009 numbers" in str(refused.value)
    automatic = model_config(small_data, formula)
    prepared = prepare(load_config(automatic))
    assert prepared.optimizer_name == "lbfgs"
    assert any("lbfgs is used instead of lm" in note for note in prepared.notes)
    monkeypatch.setenv("WORKBENCH_MODEL_MAX_ELEMENTS", "9009")
    assert prepare(load_config(automatic)).optimizer_name == "lm"
    monkeypatch.setenv("WORKBENCH_MODEL_MAX_ELEMENTS", "5999")
    with pytest.raises(InputError, match="model.formula: one evaluation of the formula with its gradient"):
        prepare(load_config(automatic))


def test_the_forward_jacobian_estimate_counts_parameters_squared_and_tangents(small_data):
    from workbench.config import load_config
    from workbench.pipeline.prepare import prepare

    prepared = prepare(load_config(model_config(small_data, '{formula: "y ~ a * exp(-b * x / 100) + c"}')))
    assert prepared.model.values_per_row == 11      # +, *, a, exp, /, *, -, b, x, 100, c
    assert prepared.objective.forward_jacobian_elements() == 3 * (3 + 200 * (11 + 4))


def test_an_mlp_256_256_on_2000_rows_fits_and_says_which_uncertainty_method_and_why(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 2000)
    write_csv(tmp_path, "rows.csv", "x,y", zip(x.round(4), np.round(np.sin(x) + rng.normal(0, 0.1, x.size), 4)))
    config = model_config(tmp_path, "{type: mlp, inputs: [x], target: y, hidden: [256, 256]}", "rows.csv",
                          extra="optimizer: {max_steps: 3}")
    proc = run_limited("fit", str(config), "--no-reports", "-q", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["optimizer"] == "lbfgs" and result["metrics"]["n"] == 2000
    method = result["uncertainty"]
    assert method["method"] == "none"
    assert "method: none" in method["why"] and "133,122,000 numbers" in method["why"]
    assert "WORKBENCH_MAX_UNCERTAINTY_ELEMENTS" in method["why"]
    assert method["why"] in result["warnings"]
    assert all(value is None for value in result["stderr"].values())
    assert result["gradient_check"]["verdict"] in ("verified", "inconclusive")


def test_uncertainties_of_a_small_fit_name_their_method(small_data):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    outcome = run_fit(load_config(model_config(small_data, '{formula: "y ~ a * x + b"}')),
                      small_data / "out", reports=False)
    assert outcome.result["uncertainty"] == {"method": "jacobian", "why": ""}
    assert outcome.result["stderr"]["a"] > 0
