"""YAML that could hurt the machine is refused with one line naming the file and key (issue 9).

Alias bombs, deep nesting, huge integers and scalars, oversized files, FIFOs, recursive aliases
and keys given twice: each ends in an ``InputError`` (exit 2) before anything is expanded, in a
file, through ``--set`` and in the reader that sweep files use.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cli_helpers import run_cli
from workbench.config import load_config, parse_set_option
from workbench.config.reader import YamlLimits, load_yaml_file, load_yaml_text
from workbench.errors import InputError

HEAD = "data: d.csv\nmodel: {formula: 'y ~ a * x'}\n"


def _config(tmp_path: Path, tail: str, name: str = "c.yaml") -> Path:
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,4\n3,6\n")
    path = tmp_path / name
    path.write_text(HEAD + tail)
    return path


def _bomb(levels: int) -> str:
    lines = ["output:", "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_before_expansion_naming_the_key(tmp_path):
    path = _config(tmp_path, _bomb(9))           # 9**10 values once expanded
    started = time.process_time()
    with pytest.raises(InputError) as info:
        load_config(path)
    assert time.process_time() - started < 2.0    # refused after a few aliases, not after expanding
    message = str(info.value)
    assert message.startswith(f"{path}: output.l")
    assert "more than 50,000 values once its aliases" in message and "WORKBENCH_YAML_MAX_NODES" in message


def test_small_aliases_are_still_accepted(tmp_path):
    text = "params:\n  a: &start {init: 1.0, min: 0}\n  b: *start\n"
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,4\n")
    path = tmp_path / "c.yaml"
    path.write_text("data: d.csv\nmodel: {formula: 'y ~ a * x + b'}\n" + text)
    config = load_config(path)
    assert config.params["b"].init == 1.0 and config.params["b"].min == 0.0


@pytest.mark.parametrize("nested", ["[" * 300 + "]" * 300, "{a: " * 300 + "1" + "}" * 300])
def test_300_deep_flow_nesting_in_a_file_is_refused(tmp_path, nested):
    path = _config(tmp_path, f"seed: {nested}\n")
    with pytest.raises(InputError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: seed")
    assert "nested more than 50 levels deep" in str(info.value)


def test_300_deep_block_mapping_is_refused(tmp_path):
    block = "".join(f"{'  ' * i}k{i}:\n" for i in range(300)) + "  " * 300 + "1\n"
    path = _config(tmp_path, "output:\n" + "".join("  " + line + "\n" for line in block.splitlines()))
    with pytest.raises(InputError, match=r"output\.k0\.k1\.k2.*nested more than 50 levels deep"):
        load_config(path)


def test_300_deep_nesting_through_set_is_refused(tmp_path):
    path = _config(tmp_path, "")
    with pytest.raises(InputError) as info:
        load_config(path, ["seed=" + "[" * 300 + "]" * 300])
    message = str(info.value)
    assert message.startswith(f"{path}: --set seed=[[[") and "nested more than 50 levels deep" in message
    assert len(message) < 400


def test_5000_digit_integer_is_refused_naming_the_key(tmp_path):
    path = _config(tmp_path, "seed: " + "9" * 5000 + "\n")
    with pytest.raises(InputError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: seed: an integer of 5,000 digits; the limit is 300")


def test_integer_too_large_for_a_float_is_a_clear_error(tmp_path):
    path = _config(tmp_path, "optimizer: {lr: " + "9" * 310 + "}\n")
    with pytest.raises(InputError) as info:
        load_config(path, ())
    assert "optimizer.lr" in str(info.value)


def test_multi_megabyte_file_is_refused_before_it_is_parsed(tmp_path):
    path = _config(tmp_path, "name: " + "x" * 3_000_000 + "\n")
    started = time.process_time()
    with pytest.raises(InputError, match=r"the file is 3,000,0\d\d bytes; the limit is 1,000,000"):
        load_config(path)
    assert time.process_time() - started < 1.0


def test_long_scalar_is_refused_naming_the_key(tmp_path):
    path = _config(tmp_path, "name: " + "x" * 200_000 + "\n")
    with pytest.raises(InputError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: name: a value of 200,000 characters")


def test_multi_megabyte_set_value_is_refused_and_not_echoed(tmp_path):
    path = _config(tmp_path, "")
    with pytest.raises(InputError) as info:
        load_config(path, ["name=" + "x" * 3_000_000])
    assert "the limit is 1,000,000" in str(info.value) and len(str(info.value)) < 300


def test_recursive_alias_is_refused(tmp_path):
    path = _config(tmp_path, "name: &loop [a, *loop]\n")
    with pytest.raises(InputError, match=r"name\[1\]: an alias refers to the collection that contains it"):
        load_config(path)


def test_impossible_date_is_a_value_error_with_its_line(tmp_path):
    path = _config(tmp_path, "name: 2024-13-45\n")
    with pytest.raises(InputError, match=r"YAML value error at line 3, column 7: .*month must be in 1..12"):
        load_config(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a FIFO"):
        load_config(fifo)


def test_symlink_to_a_regular_file_is_followed(tmp_path):
    target = _config(tmp_path, "")
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    assert load_config(link).model.formula == "y ~ a * x"


def test_limits_come_from_the_environment(tmp_path, monkeypatch):
    path = _config(tmp_path, "seed: [[[[1]]]]\n")
    monkeypatch.setenv("WORKBENCH_YAML_MAX_DEPTH", "3")
    with pytest.raises(InputError, match=r"nested more than 3 levels deep; the limit is 3 \(raise it with "
                                         r"WORKBENCH_YAML_MAX_DEPTH\)"):
        load_config(path)
    monkeypatch.setenv("WORKBENCH_YAML_MAX_DEPTH", "lots")
    with pytest.raises(InputError, match="environment variable WORKBENCH_YAML_MAX_DEPTH: must be a positive"):
        load_config(path)


def test_yaml_limits_defaults_are_documented_in_the_readme():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name in YamlLimits.ENV.values():
        assert name in readme


def test_sweep_files_share_the_reader(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("base: c.yaml\nspace:\n  seed: [1, 2]\n  seed: [3]\n")
    with pytest.raises(InputError, match=r"sweep.yaml: space.seed: given twice, at lines 3 and 4"):
        load_yaml_file(path, noun="sweep file")
    path.write_text(_bomb(9))
    with pytest.raises(InputError, match="once its aliases"):
        load_yaml_file(path, noun="sweep file")


def test_missing_sweep_file_is_named_with_its_noun(tmp_path):
    with pytest.raises(InputError, match="sweep file not found"):
        load_yaml_file(tmp_path / "missing.yaml", noun="sweep file")


def test_duplicate_keys_in_set_values_and_nested_sections_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"--set loss=.*name: given twice"):
        parse_set_option("loss={name: mse, name: huber}")
    path = _config(tmp_path, "optimizer:\n  schedule:\n    name: step\n    name: cosine\n")
    with pytest.raises(InputError, match=r"optimizer.schedule.name: given twice, at lines 5 and 6"):
        load_config(path)


def test_text_reader_returns_plain_values():
    assert load_yaml_text("a: [1, 2.5, x]\n", "t") == {"a": [1, 2.5, "x"]}
    assert load_yaml_text("", "t") is None


def test_alias_bomb_through_the_cli_exits_2_in_one_line(tmp_path):
    path = _config(tmp_path, _bomb(8))
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {path}: output.l")


def test_control_characters_are_a_syntax_error_not_a_crash(tmp_path):
    with pytest.raises(InputError, match=r"--set name=0: cannot read the value as YAML: YAML syntax error: "
                                         r"unacceptable character #x000c"):
        parse_set_option("name=0\x0c")
    path = _config(tmp_path, "name: a\x07b\n")
    with pytest.raises(InputError, match="unacceptable character #x0007"):
        load_config(path)
