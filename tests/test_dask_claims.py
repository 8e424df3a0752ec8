"""A cluster fit whose client holds only a sample of the table states the whole table's counts:
every count of result.json, the HTML report and results.xlsx is the table's, or says it is a
sample of N of M rows (and where every row's prediction is). Also: separation judged on every
row, categorical levels from every file, ``validate`` and ``Fit.write`` after a cluster fit."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from cli_helpers import run_cli  # noqa: E402
from workbench.config import load_config  # noqa: E402
from workbench.errors import InputError  # noqa: E402
from workbench.pipeline.fit import run_fit  # noqa: E402

FILES, ROWS_PER_FILE, SAMPLE = 6, 100, 200
TABLE_ROWS = FILES * ROWS_PER_FILE
HELD_OUT = round(0.25 * TABLE_ROWS)           # prepare.split_rows: round(share × rows)
FITTED = TABLE_ROWS - HELD_OUT

DECAY = """name: decay
data: {path: parts/*.csv}
model: {formula: "y ~ a * exp(-b * x) + c"}
params: {a: 1.0, b: 0.3, c: 0.0}
validation: 0.25
seed: 3
output: {plots: true, formats: [html, xlsx], predictions: csv}
execution: {chunk_rows: 64}
"""


@pytest.fixture
def small_sample(monkeypatch):
    from workbench.pipeline import dask_data

    monkeypatch.setattr(dask_data, "SAMPLE_ROWS", SAMPLE)     # the client holds 200 of the 600 rows


def _decay_files(folder) -> None:
    rng = np.random.default_rng(11)
    (folder / "parts").mkdir()
    for i in range(FILES):
        x = np.linspace(0.0, 6.0, ROWS_PER_FILE) + 0.003 * i
        y = 2.0 * np.exp(-0.6 * x) + 0.4 + rng.normal(0.0, 0.02, x.size)
        (folder / "parts" / f"p{i}.csv").write_text(
            "x,y\n" + "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in zip(x, y)) + "\n")
    (folder / "c.yaml").write_text(DECAY)


def _text(path) -> str:
    """The visible text of an HTML file, one line per element."""
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", path.read_text(encoding="utf-8"), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


def _count(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def reported(tmp_path_factory, cluster):
    from workbench.pipeline import dask_data

    folder = tmp_path_factory.mktemp("claims")
    _decay_files(folder)
    saved, dask_data.SAMPLE_ROWS = dask_data.SAMPLE_ROWS, SAMPLE
    try:
        config = load_config(folder / "c.yaml", [f"execution.scheduler={cluster.scheduler_address}"])
        outcome = run_fit(config, folder / "out")
    finally:
        dask_data.SAMPLE_ROWS = saved
    return outcome, folder / "out"


def test_result_json_counts_are_the_whole_tables_and_the_sample_is_named(reported):
    outcome, _ = reported
    result = outcome.result
    assert result["data"]["rows_used"] == TABLE_ROWS
    assert result["metrics"]["n"] == FITTED and result["validation_metrics"]["n"] == HELD_OUT
    execution = result["execution"]
    assert execution["rows"] == TABLE_ROWS and execution["sampled_rows"] == SAMPLE
    assert execution["predictions"] == "predictions"
    assert f"sample of {SAMPLE} of the {TABLE_ROWS} rows" in execution["start_values"]
    check = result["gradient_check"]
    assert check["of_rows"] == FITTED                          # every fitted row, not the sample's
    assert check["loss_rows"] == outcome.prepared.objective.n_rows < FITTED
    assert check["detail"].endswith(f"evenly spaced rows of the {FITTED})")


def test_every_count_of_the_html_report_is_the_whole_tables(reported):
    outcome, out = reported
    text = _text(out / "report.html")
    held = re.findall(r"([\d,]+) rows \(\d+%, chosen with seed 3\)", text)
    assert [_count(n) for n in held] == [HELD_OUT]
    validation = re.findall(r"On the ([\d,]+) rows held out for validation", text)
    assert validation and {_count(n) for n in validation} == {HELD_OUT}
    captions = re.findall(r"a sample of ([\d,]+) of the ([\d,]+) rows", text)
    assert captions                                          # the fit and residual pictures draw the sample
    for shown, total in captions:
        assert _count(total) == TABLE_ROWS and _count(shown) <= SAMPLE
    assert "Shown: the density of all" not in text
    assert f"evenly spaced rows of the {FITTED})" in text     # the gradient check's own sentence
    used = re.search(r"Rows used\s+([\d,]+)", text)
    assert used and _count(used.group(1)) == TABLE_ROWS


def test_the_xlsx_predictions_are_said_to_be_a_sample_and_where_every_row_is(reported):
    import openpyxl

    outcome, out = reported
    book = openpyxl.load_workbook(out / "results.xlsx")
    sheet = book["Predictions"]
    note = (f"These are a sample of {SAMPLE} of the {TABLE_ROWS} rows; every row's prediction is in the folder "
            f"predictions.")
    assert sheet["A1"].value == note
    assert sheet.max_row == SAMPLE + 2                        # the note, the header, the sample's rows
    summary = [(str(r[0].value), r[1].value) for r in book["Summary"].iter_rows(min_row=2)]
    assert ("Warning", note) in summary
    assert ("Rows used", TABLE_ROWS) in summary
    parts = sorted((out / "predictions").iterdir())
    assert sum(len(p.read_text().splitlines()) - 1 for p in parts) == TABLE_ROWS


# ---- separation on every row ---------------------------------------------------------------------
def test_row_sums_of_files_judge_separation_on_every_row():
    from workbench.pipeline.dask_parts import RowSums
    from workbench.pipeline.results import quality

    x = np.array([0.1, 0.2, 0.9, 1.0, 0.3, 0.4, 0.6, 0.95])
    y = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0])      # the second file's classes overlap on x
    p = np.where(y > 0.5, 1.0 - 1e-6, 1e-6)
    first = RowSums.of(y[:4], p[:4], None, True, {"x": x[:4]})
    assert first.separated() and first.separating_inputs(["x"]) == ["x"]
    both = first.merged(RowSums.of(y[4:], p[4:], None, True, {"x": x[4:]}))
    assert both.separated()                                  # every probability is its label ...
    assert both.separating_inputs(["x"]) == []               # ... but no threshold on x alone separates
    assert both.class_ranges["x"] == [0.1, 0.6, 0.4, 1.0]
    p[5] = 0.4
    missed = first.merged(RowSums.of(y[4:], p[4:], None, True, {"x": x[4:]}))
    assert not missed.separated() and missed.largest_miss == pytest.approx(0.6)
    assert missed.metrics(True) == pytest.approx(quality(y, p, True))    # one formula for both paths
    nan = RowSums.of(y[:4], np.array([np.nan, 0.0, 1.0, 1.0]), None, True, {"x": x[:4]})
    assert not first.merged(nan).separated() and not nan.merged(first).separated()


def test_metrics_from_file_sums_equal_the_single_table_metrics():
    from workbench.pipeline.dask_parts import RowSums
    from workbench.pipeline.results import quality

    rng = np.random.default_rng(4)
    y, prediction = rng.normal(3.0, 2.0, 1000), rng.normal(3.0, 2.0, 1000)
    merged = RowSums()
    for rows in np.array_split(np.arange(1000), 7):
        merged = merged.merged(RowSums.of(y[rows], prediction[rows], None, False, {}))
    whole = quality(y, prediction, False)
    assert merged.metrics(False) == pytest.approx(whole, rel=1e-12)
    assert RowSums.of(y, prediction, None, False, {}).metrics(False) == whole        # exactly, unsplit


def test_a_sample_that_is_separated_does_not_make_the_table_separated(tmp_path):
    """``judge`` takes the separation judged on every row over what the sample's predictions show."""
    from cli_helpers import write_csv
    from workbench.pipeline.degenerate import judge
    from workbench.pipeline.prepare import prepare

    x = np.linspace(-3, 3, 40)
    write_csv(tmp_path, "s.csv", "x,y", zip(x, (x > 0).astype(int)))
    (tmp_path / "c.yaml").write_text("data: {path: s.csv}\nmodel: {type: logistic, inputs: [x], target: y}\n"
                                     "loss: {name: cross_entropy}\n")
    prepared = prepare(load_config(tmp_path / "c.yaml"))
    labels = prepared.target(prepared.train_rows)
    names = ["x", "intercept"][:prepared.objective.n_params]
    x_fit = np.full(prepared.objective.n_params, 1.0)
    assert judge(prepared, x_fit, labels, labels, names).separated_by == ["x"]
    table = judge(prepared, x_fit, labels, labels, names, separation=(False, []))
    assert not table.separated
    assert judge(prepared, x_fit, labels, labels, names, separation=(True, [])).separation_text() == \
        "a combination of the inputs"


def test_a_separated_table_on_a_cluster_is_separated_by_its_input(tmp_path, cluster, small_sample):
    (tmp_path / "parts").mkdir()
    for i in range(3):
        x = np.linspace(-3, 3, 120) + 0.01 * i
        (tmp_path / "parts" / f"s{i}.csv").write_text(
            "x,y\n" + "\n".join(f"{float(v)!r},{int(v > 0)}" for v in x) + "\n")
    (tmp_path / "c.yaml").write_text("data: {path: parts/*.csv}\nmodel: {type: logistic, inputs: [x], target: y}\n"
                                     "loss: {name: cross_entropy}\noutput: {plots: false}\n")
    config = load_config(tmp_path / "c.yaml", [f"execution.scheduler={cluster.scheduler_address}"])
    result = run_fit(config, tmp_path / "out", reports=False).result
    assert result["status"] == "separated" and result["separation"] == {"by": ["x"], "kind": "complete"}
    assert not result["converged"] and all(v is None for v in result["stderr"].values())


# ---- categorical levels from every file --------------------------------------------------------------
CATEGORICAL = """name: sales
data: {path: parts/*.csv}
model: {type: linear, inputs: [t, region], categorical: [region], target: y}
output: {plots: false}
"""


def _region_files(folder) -> None:
    """West appears only in the last file."""
    rng = np.random.default_rng(2)
    (folder / "parts").mkdir()
    effect = {"East": 0.0, "North": 5.0, "West": -3.0}
    for i, regions in enumerate((["East", "North"], ["North", "East"], ["East", "West"])):
        lines = []
        for j in range(30):
            region = regions[j % 2]
            t = 10.0 * i + j
            lines.append(f"{t},{region},{1.0 + 0.5 * t + effect[region] + rng.normal(0, 0.1)}")
        (folder / "parts" / f"r{i}.csv").write_text("t,region,y\n" + "\n".join(lines) + "\n")
    (folder / "c.yaml").write_text(CATEGORICAL)


def test_a_level_only_in_a_later_file_is_a_level_of_the_fit(tmp_path, cluster):
    _region_files(tmp_path)
    local = run_fit(load_config(tmp_path / "c.yaml"), tmp_path / "local", reports=False).result
    config = load_config(tmp_path / "c.yaml", [f"execution.scheduler={cluster.scheduler_address}"])
    remote = run_fit(config, tmp_path / "remote", reports=False).result
    for result in (local, remote):
        assert set(result["params"]) >= {"region[North]", "region[West]"}
        assert result["params"]["region[West]"] == pytest.approx(-3.0, abs=0.2)
        assert result["data"]["rows_used"] == 90
    for name, value in local["params"].items():
        assert remote["params"][name] == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_more_levels_than_the_parameter_limit_is_refused_naming_the_column(tmp_path, cluster, monkeypatch):
    _region_files(tmp_path)
    monkeypatch.setenv("WORKBENCH_MODEL_MAX_PARAMS", "2")
    for extra in ([], [f"execution.scheduler={cluster.scheduler_address}"]):
        with pytest.raises(InputError) as info:
            run_fit(load_config(tmp_path / "c.yaml", extra), tmp_path / "out", reports=False)
        message = str(info.value)
        assert "model.categorical" in message and "column 'region' has more than 2 distinct values" in message
        assert "WORKBENCH_MODEL_MAX_PARAMS" in message


# ---- validate and Fit.write --------------------------------------------------------------------------
def test_validate_on_a_cluster_prints_the_tables_counts_and_closes_its_client(tmp_path, cluster, small_sample,
                                                                            monkeypatch):
    from workbench.pipeline import dask_sums

    _decay_files(tmp_path)
    opened = []
    real = dask_sums.connect

    def recording(scheduler):
        client = real(scheduler)
        opened.append(client)
        return client

    monkeypatch.setattr(dask_sums, "connect", recording)
    done = run_cli("validate", str(tmp_path / "c.yaml"), "--scheduler", cluster.scheduler_address)   # as fit takes it
    assert done.returncode == 0, done.stderr
    assert f"{TABLE_ROWS} rows read, {TABLE_ROWS} used, 0 dropped" in done.stdout
    assert f"validation {HELD_OUT} rows held out" in done.stdout
    assert len(opened) == 1 and opened[0].status == "closed"


def test_fit_write_after_a_cluster_fit_copies_its_prediction_parts(tmp_path, cluster):
    import workbench

    _decay_files(tmp_path)
    fit = workbench.fit(tmp_path / "c.yaml", execution={"scheduler": cluster.scheduler_address},
                        output={"plots": False})
    written = fit.write(tmp_path / "written")              # with its reports, drawn from the client's sample
    parts = sorted((written / "predictions").iterdir())
    assert [p.name for p in parts] == [f"part-{i:05d}.csv" for i in range(FILES)]
    assert sum(len(p.read_text().splitlines()) - 1 for p in parts) == TABLE_ROWS
    assert (written / "report.html").is_file() and (written / "results.xlsx").is_file()
    import json

    manifest = json.loads((written / "manifest.json").read_text())
    assert [f"predictions/{p.name}" for p in parts] == [f for f in manifest["files"] if f.startswith("predictions/")]

    for part in fit._outcome.files:             # the parts the workers wrote are gone: say so, no traceback
        if "part-" in str(part):
            part.unlink()
    with pytest.raises(InputError, match=r"write: .*fit again"):
        fit.write(tmp_path / "again", reports=False)
    assert not (tmp_path / "again").exists()
