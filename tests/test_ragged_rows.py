"""A row with more values than the header names, a number among those beyond it, is exit 2 naming
the row: an unquoted thousands separator (3,1,234) would otherwise shift 1,234 into 1 and 234."""

from cli_helpers import run_cli, write_config


def _fit(tmp_path, text: str):
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    config = write_config(tmp_path, """
        data: {path: d.csv}
        model: {type: linear, inputs: [x], target: y}
        output: {plots: false}
        """, name="c.yaml")
    return run_cli("fit", str(config), "--out", str(tmp_path / "out"), "--no-reports", "-q")


def test_a_row_with_an_extra_value_is_refused_naming_it(tmp_path):
    done = _fit(tmp_path, "x,y\n1,2\n2,4\n3,1,234\n4,8\n5,10\n")
    assert done.returncode == 2
    assert "d.csv row 4 has 3 values but the header (row 1) names 2 columns" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_trailing_empty_fields_and_an_unnamed_column_on_every_row_are_read_as_before(tmp_path):
    assert _fit(tmp_path, "x,y,\n1,2,\n2,4,\n3,6.1,\n4,8,\n").returncode == 0
    assert _fit(tmp_path, "x,y\n1,2,a\n2,4,b\n3,6.1,c\n4,8,d\n").returncode == 0


def test_a_repeated_header_name_is_read_as_the_first_column_and_said(tmp_path):
    import json

    done = _fit(tmp_path, "x,x,y\n1,10,2\n2,20,4\n3,30,6.1\n4,40,8\n")
    assert done.returncode == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    assert abs(result["params"]["coef_x"] - 2.0) < 0.1        # the first x (1..4), not the second (10..40): 0.2
    assert any("has columns 'x' and 'x.1': the model reads 'x', the first" in w for w in result["warnings"])


def test_an_unclosed_quote_is_named_with_its_line(tmp_path):
    done = _fit(tmp_path, 'x,y\n1,2\n"3,4\n5,6\n7,8\n')
    assert done.returncode == 2
    assert "d.csv line 3: a quote (\") opened there is never closed" in done.stderr


def test_an_inch_mark_and_a_quoted_cell_across_lines_read_as_before(tmp_path):
    assert _fit(tmp_path, 'x,y,note\n1,2,a 5" screen\n2,4,b\n3,6.1,c\n4,8,d\n').returncode == 0
    assert _fit(tmp_path, 'x,y,note\n1,2,"two\nlines"\n2,4,b\n3,6.1,c\n4,8,d\n').returncode == 0
