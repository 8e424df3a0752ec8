"""Fuzzing the CLI with hypothesis: no config or formula makes it print a traceback or end with a
status outside the documented ones (issue 9).

Three kinds of input, each run in-process through ``workbench.cli.main``: random YAML structures
as whole configs, random keys and values dropped into a valid config (in the file or through
``--set``), and formulas built from a grammar that mixes what the language admits with what it
must refuse. Most cases run ``validate``; a few run ``fit`` with a handful of steps. Every case
runs under an alarm (a hang fails the test instead of stalling the suite) and a memory bound (the
process's peak resident size may not grow by more than ``CASE_MEGABYTES`` during a case), and the
examples are derandomized, so the suite sees the same cases on every run.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import string
import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_helpers import run_cli

CASE_SECONDS = 20                  # a bound against hangs, far above what any case needs
CASE_MEGABYTES = 1024              # a bound against runaway allocations, far above what any case needs
VALID = textwrap.dedent("""
    data: d.csv
    model: {formula: "y ~ a * exp(-b * x) + c"}
    params: {a: 1.0, b: {init: 0.1, min: 0}, c: 0.0}
    optimizer: {max_steps: 5}
    output: {plots: false}
""").lstrip()
FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz")
    rows = "\n".join(f"{x / 4:.2f},{4 * 2.718 ** (-x / 8):.4f},{x % 3},{x - 5},{x * x}" for x in range(12))
    (path / "d.csv").write_text("x,y,Unit Price,$x$,a$b\n" + rows + "\n")
    return path


class _Hang(Exception):
    pass


def _peak_megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # Linux reports kilobytes


@contextlib.contextmanager
def _time_bound(seconds: int):
    """The case must end within ``seconds`` and raise the peak memory by at most ``CASE_MEGABYTES``."""
    def expire(signum, frame):
        raise _Hang(f"a case ran past {seconds} s")

    peak_before = _peak_megabytes()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    grown = _peak_megabytes() - peak_before
    assert grown <= CASE_MEGABYTES, f"a case raised the peak memory by {grown:.0f} MB"


def _run(folder, config_text: str, *args: str, command: str = "validate"):
    (folder / "c.yaml").write_text(config_text)
    with _time_bound(CASE_SECONDS):
        return run_cli(command, "c.yaml", *args, cwd=folder)


def _assert_well_behaved(proc, allowed=(0, 2)) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    assert proc.returncode in allowed, (proc.returncode, proc.stderr)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1, proc.stderr


# -- values and structures
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**6, max_value=10**6),
    st.integers(min_value=10**300, max_value=10**320),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["1e-3", "mse", "lm", "adam", "x", "y", "d.csv", "~", "y ~", "${HOME}", "${NOPE_UNSET}",
                     "2024-01-31", "-1", "0", "null", "[1, 2]", "{a: 1}", "`", "$x$"]))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)

_SCHEMA_KEYS = ["name", "data", "data.path", "data.sheet", "data.header_row", "data.decimal", "data.thousands",
                "data.delimiter", "data.columns", "data.where", "data.dates", "data.missing", "model",
                "model.formula", "model.type", "model.inputs", "model.target", "model.degree", "model.hidden",
                "model.activation", "params", "params.a", "params.b.min", "params.zz", "loss", "loss.name",
                "loss.delta", "loss.weights", "loss.regularization.l2", "optimizer", "optimizer.name",
                "optimizer.lr", "optimizer.max_steps", "optimizer.schedule", "optimizer.batch_size",
                "validation", "seed", "output", "output.formats", "base", "nonsense", "optimizer.nonsense"]


def _set_dotted(raw: dict, dotted: str, value) -> dict:
    node = raw
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {} if child is None or isinstance(child, (list, int, float)) else {"name": child}
            node[part] = child
        node = child
    node[parts[-1]] = value
    return raw


@FUZZ
@given(document=_values)
def test_random_yaml_documents_as_configs(folder, document):
    text = yaml.safe_dump(document, allow_unicode=True)
    _assert_well_behaved(_run(folder, text))


@FUZZ
@given(changes=st.lists(st.tuples(st.sampled_from(_SCHEMA_KEYS), _values), min_size=1, max_size=3))
def test_random_keys_and_values_in_a_valid_config(folder, changes):
    raw = yaml.safe_load(VALID)
    for dotted, value in changes:
        raw = _set_dotted(raw, dotted, value)
    _assert_well_behaved(_run(folder, yaml.safe_dump(raw, allow_unicode=True)))


@FUZZ
@given(key=st.sampled_from(_SCHEMA_KEYS), value=st.text(alphabet=string.printable, max_size=20))
def test_random_set_options(folder, key, value):
    _assert_well_behaved(_run(folder, VALID, "--set", f"{key}={value}"))


@FUZZ
@given(junk=st.text(max_size=60))
def test_random_text_files_as_configs(folder, junk):
    _assert_well_behaved(_run(folder, junk))


# -- formulas: mostly what the language admits, sometimes what it must refuse
_GOOD_NAMES = ["x", "a", "b", "c", "`Unit Price`", "`$x$`", "`a$b`", "pi", "2.5", "0", "1e-300"]
_BAD_NAMES = ["exp", "__class__", "y", "'won'", "1e400", "x.real", "[1]"]
_GOOD_FUNCS = ["exp", "log", "sqrt", "abs", "sin", "tanh", "sigmoid", "softplus", "log10", "arctan"]
_BAD_FUNCS = ["ln", "eval", "__import__", "open"]
_GOOD_OPS = ["+", "-", "*", "/", "**"]
_BAD_OPS = ["%", "//", "^", "<", "==", " and ", " if "]


def _expressions(good_only: bool = False):
    def pick(good, bad):
        return st.sampled_from(good if good_only else good * 3 + bad)

    names, funcs, ops = pick(_GOOD_NAMES, _BAD_NAMES), pick(_GOOD_FUNCS, _BAD_FUNCS), pick(_GOOD_OPS, _BAD_OPS)
    return st.recursive(names, lambda inner: st.one_of(
        st.builds(lambda f, a: f"{f}({a})", funcs, inner),
        st.builds(lambda a, op, b: f"({a}{op}{b})", inner, ops, inner),
        st.builds(lambda a: f"-{a}", inner),
        st.builds(lambda c, a, b: f"where({c} > 0, {a}, {b})", inner, inner, inner),
        st.builds(lambda a, b: f"max({a}, {b})", inner, inner)), max_leaves=10)


def _formula_config(formula: str) -> str:
    return yaml.safe_dump({"data": "d.csv", "model": {"formula": formula}, "optimizer": {"max_steps": 5},
                           "output": {"plots": False}})


@FUZZ
@given(formula=_expressions().map(lambda rhs: f"y ~ {rhs}"))
def test_random_formula_trees(folder, formula):
    _assert_well_behaved(_run(folder, _formula_config(formula)))


@FUZZ
@given(formula=st.text(alphabet=string.printable + "`$~αé", max_size=40))
def test_random_formula_strings(folder, formula):
    _assert_well_behaved(_run(folder, _formula_config(formula)))


@settings(FUZZ, max_examples=8)
@given(formula=_expressions(good_only=True).map(lambda rhs: f"y ~ a * {rhs} + c"))
def test_a_few_fits_of_random_formulas(folder, formula, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit")
    proc = _run(folder, _formula_config(formula), "--no-reports", "--out", str(out), command="fit")
    _assert_well_behaved(proc, allowed=(0, 2, 3, 4))
