"""`workbench graph`: the model at one row for every built-in model (the loss with --loss), fixed
parameters labelled, DOT reading, the fallback layout (argument order, repeated edges), --trace."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cli_helpers import run_main, write_config, write_csv
from workbench.engine.trace import summarize
from workbench.report.graph import DotGraph, draw_layered, parse_dot, render_dot, with_rankdir

MODEL_TYPES = {
    "linear": "inputs: [x, z], target: y",
    "polynomial": "input: x, target: y, degree: 3",
    "exponential": "input: x, target: y",
    "power": "input: x, target: y",
    "logistic": "inputs: [x, z], target: hit",
    "gaussian": "input: x, target: y",
    "michaelis_menten": "input: x, target: y",
    "mlp": "inputs: [x, z], target: y, hidden: [4]",
}


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(2)
    x = np.linspace(0.5, 6, 24)
    z = rng.uniform(0, 1, x.size)
    y = 2.0 * np.exp(-0.5 * (x - 3) ** 2) + 0.3 + rng.normal(0, 0.02, x.size)
    hit = (rng.uniform(0, 1, x.size) < 1 / (1 + np.exp(-(x - 3)))).astype(int)
    write_csv(tmp_path, "table.csv", "x,z,y,hit", zip(x.round(4), z.round(4), y.round(5), hit))
    return tmp_path


def model_config(folder, kind: str):
    loss = "cross_entropy" if kind == "logistic" else "mse"
    return write_config(folder, f"""
        name: {kind}
        data: {{path: table.csv}}
        model: {{type: {kind}, {MODEL_TYPES[kind]}}}
        loss: {loss}
        output: {{dir: out, formats: []}}
    """, name=f"{kind}.yaml")


def _sink_and_leaves(dot: str, prepared):
    graph = parse_dot(dot)
    labels = [label.splitlines()[0] for label in graph.nodes.values()]
    leaves = [n for n in labels if n in {p.name for p in prepared.free}]
    assert sorted(leaves) == sorted(p.name for p in prepared.free), "one named leaf per parameter"
    sinks = [n for n in graph.nodes if n not in {a for a, _ in graph.edges}]
    assert len(sinks) == 1, "one output"
    return graph.nodes[sinks[0]]


@pytest.mark.parametrize("kind", list(MODEL_TYPES))
def test_graph_command_draws_the_model_at_one_row_for_every_builtin_model(table, kind):
    from workbench.config import load_config
    from workbench.pipeline.prepare import prepare
    from workbench.report.model_graph import default_row

    config = model_config(table, kind)
    assert run_main("graph", str(config), "--format", "dot", "-q") == 0
    prepared = prepare(load_config(config))
    output = _sink_and_leaves((table / "out" / "graph-init.dot").read_text(), prepared)
    prediction = prepared.objective.predict(prepared.objective.unpack(prepared.x0))
    assert f"value {summarize(prediction[default_row(prepared)], 6)}" in output
    assert "grad 1" in output, "the picture's adjoints are ∂prediction/∂node"
    assert run_main("graph", str(config), "--format", "png", "-q") == 0
    assert (table / "out" / "graph-init.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind", ["exponential", "mlp"])
def test_loss_flag_draws_the_loss_over_all_rows(table, kind):
    from workbench.config import load_config
    from workbench.pipeline.prepare import prepare

    config = model_config(table, kind)
    assert run_main("graph", str(config), "--loss", "--format", "dot", "-q") == 0
    prepared = prepare(load_config(config))
    output = _sink_and_leaves((table / "out" / "graph-loss-init.dot").read_text(), prepared)
    assert f"value {summarize(prepared.objective.loss_value(prepared.x0), 6)}" in output


def test_a_fixed_parameter_is_labelled_not_an_anonymous_number(table):
    config = write_config(table, """
        name: fixed
        data: {path: table.csv}
        model: {formula: "y ~ a * exp(-b * x) + c"}
        params: {a: 1.0, b: 0.5, c: {init: 0.3, fixed: true}}
        output: {dir: out, formats: []}
    """, name="fixed.yaml")
    assert run_main("graph", str(config), "--format", "dot", "-q") == 0
    dot = (table / "out" / "graph-init.dot").read_text()
    assert 'label="c (fixed) = 0.3"' in dot


def test_the_fallback_drawing_keeps_argument_order_and_repeated_edges():
    from workbench import engine as ad
    from workbench.report.graph import _layers

    a = ad.Tensor(2.0, requires_grad=True, name="a")
    b = ad.Tensor(3.0, requires_grad=True, name="b")
    graph = parse_dot(ad.to_dot(ad.sub(b, a) + a * a))
    ids = {label.splitlines()[0]: node for node, label in graph.nodes.items()}
    square = ids["v2 = mul"]
    assert [graph.edge_labels[k] for k, edge in enumerate(graph.edges) if edge == (ids["a"], square)] == ["1", "2"]
    layer = next(layer for layer in _layers(graph) if ids["a"] in layer)
    assert layer.index(ids["b"]) < layer.index(ids["a"]), "b − a: b is the first argument"
    assert draw_layered(graph, "svg").count(b"<path") >= len(graph.edges)


def test_fallback_layout_draws_without_graphviz(table, monkeypatch):
    import workbench.report.graph as graph_module

    monkeypatch.setattr(graph_module, "graphviz_binary", lambda: None)
    config = model_config(table, "exponential")
    assert run_main("graph", str(config), "--format", "svg", "-q") == 0
    svg = (table / "out" / "graph-init.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and svg.count("<path") > 10


def test_graphviz_is_used_when_installed(table):
    from workbench.report.graph import graphviz_binary

    if graphviz_binary() is None:
        pytest.skip("Graphviz's dot is not installed")
    image, renderer = render_dot('digraph { a [label="x1"]; a -> b; }', "svg")
    assert renderer == "graphviz" and b"x1" in image


def test_dot_reader_handles_labels_chains_attributes_and_comments():
    text = r'''strict digraph "g" {
      // a comment
      graph [rankdir=LR]; node [shape=box];
      n0 [label="a\nvalue 2\"q\""]; n1 [label=<mul<br/>3>, shape=box];
      n0 -> n1 -> n2 [label="1"];
      c0 [label="{x|y}"]; c0 -> n1;
      subgraph cluster_0 { n3; }
      -1.5 -> n3;
    }'''
    graph = parse_dot(text)
    assert graph.rankdir == "LR"
    assert graph.nodes == {"n0": 'a\nvalue 2"q"', "n1": "mul\n3", "n2": "n2", "c0": "x\ny", "n3": "n3",
                           "-1.5": "-1.5"}
    assert graph.edges == [("n0", "n1"), ("n1", "n2"), ("c0", "n1"), ("-1.5", "n3")]


def test_layered_layout_is_deterministic_and_puts_leaves_next_to_their_user():
    from workbench.report.graph import _layers

    graph = DotGraph({"a": "a", "b": "b", "m": "m", "e": "e", "s": "s", "k": "k"},
                     [("a", "m"), ("m", "e"), ("e", "s"), ("b", "s"), ("k", "s")])
    layers = _layers(graph)
    assert layers == _layers(graph)
    assert layers[0] == ["a"] and layers[1] == ["m"] and set(layers[2]) == {"e", "b", "k"} and layers[3] == ["s"]
    assert draw_layered(graph, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert with_rankdir("digraph { rankdir=LR; a -> b; }", "TB") == "digraph { rankdir=TB; a -> b; }"
    assert with_rankdir("digraph {a -> b;}", "TB").startswith("digraph {\n  rankdir=TB;")


def test_trace_prints_the_chain_rule_at_one_row(table, capsys):
    from workbench.config import load_config
    from workbench.pipeline.prepare import prepare

    config = model_config(table, "exponential")
    assert run_main("graph", str(config), "--trace", "--row", "4") == 0
    stdout = capsys.readouterr().out
    assert "The model at data row 4, parameters at their starting values:" in stdout
    assert "forward sweep" in stdout and "backward sweep" in stdout
    prepared = prepare(load_config(config))
    jacobian_row = prepared.objective.model_jacobian(prepared.x0)[2]      # data row 4 is the third row
    (result,) = [line for line in stdout.splitlines() if line.startswith("result:")]
    printed = {name: float(value) for name, value in re.findall(r"∂v\d+/∂(\w+) = ([-0-9.e]+)", result)}
    assert list(printed) == ["a", "b", "c"]
    np.testing.assert_allclose([printed[n] for n in "abc"], jacobian_row, rtol=1e-12)


def test_the_default_trace_row_is_not_one_where_an_input_is_zero(tmp_path, capsys):
    write_csv(tmp_path, "zero.csv", "x,y", [(0.0, 1.0), (0.0, 1.2), (2.0, 3.1), (3.0, 3.9)])
    config = write_config(tmp_path, """
        name: zero
        data: {path: zero.csv}
        model: {formula: "y ~ a * x + b"}
        params: {a: 1.0, b: 0.5}
        output: {dir: out, formats: []}
    """)
    assert run_main("graph", str(config), "--trace", "--format", "dot") == 0
    stdout = capsys.readouterr().out
    assert "The model at data row 4," in stdout                # spreadsheet row 4 holds x = 2
    assert "∂v2/∂a = 2" in stdout and "the model at data row 4" in stdout


def test_bad_graph_requests_exit_2_with_one_line(table, capsys):
    config = model_config(table, "exponential")
    for args, expected in ((("--at", "fit"), "result.json"), (("--trace", "--row", "99"), "--row"),
                           (("--format", "pdf"), "pdf")):
        assert run_main("graph", str(config), *args) == 2, args
        stderr = capsys.readouterr().err
        errors = [line for line in stderr.splitlines() if line.lower().startswith("error")]
        assert len(errors) == 1 and expected in errors[0], stderr
