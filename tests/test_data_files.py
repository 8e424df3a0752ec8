"""Files that must never hang, exhaust memory or print a traceback (issue 9): only regular files
are read, size limits are checked before reading, damaged workbooks are one line naming the file."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.cli_helpers import run_cli, write_config
from workbench.data import load_dataset
from workbench.errors import InputError


def error_of(options: dict) -> str:
    with pytest.raises(InputError) as info:
        load_dataset(options, ["x"])
    text = str(info.value)
    assert "\n" not in text
    return text


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)                 # reading it would block forever: no writer ever comes
    assert error_of({"path": fifo}) == (f"data.path: {fifo} is a named pipe (FIFO), not a regular file: only "
                                        f"files can be read")


def test_a_symlink_is_followed_only_to_a_regular_file(tmp_path):
    (tmp_path / "real.csv").write_text("x\n1\n2\n")
    good = tmp_path / "good.csv"
    good.symlink_to(tmp_path / "real.csv")
    assert load_dataset({"path": good}, ["x"]).columns["x"].tolist() == [1.0, 2.0]
    os.mkfifo(tmp_path / "pipe")
    bad = tmp_path / "bad.csv"
    bad.symlink_to(tmp_path / "pipe")
    assert error_of({"path": bad}) == (f"data.path: {bad} is a named pipe (FIFO) (through a symbolic link), not a "
                                       f"regular file: only files can be read")
    dangling = tmp_path / "gone.csv"
    dangling.symlink_to(tmp_path / "nowhere.csv")
    assert error_of({"path": dangling}) == f"data.path: {dangling} is a symbolic link to a missing file"


def test_a_device_is_refused(tmp_path):
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")    # endless bytes: reading it would fill the memory
    assert "is a character device (through a symbolic link), not a regular file" in error_of({"path": link})


def test_the_file_size_limit_is_checked_before_reading_and_can_be_raised(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("x\n" + "1\n" * 600_000)       # 1.2 MB
    assert error_of({"path": path, "limits": {"file_mb": 1}}) == (
        "data.path: big.csv is 1 MB, above the limit of 1 MB; raise data.limits.file_mb to read it")
    assert load_dataset({"path": path, "limits": {"file_mb": 2}}, ["x"]).n == 600_000


def zip_bomb(path: Path, megabytes: int) -> Path:
    """A valid workbook whose sheet XML expands to ``megabytes`` (a few kB on disk)."""
    book = openpyxl.Workbook()
    book.active.append(["x"])
    book.active.append([1])
    book.save(path)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"</worksheet>", b"<!--" + b" " * (megabytes << 20) + b"--></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def test_a_workbook_expanding_past_the_limit_is_refused_before_parsing(tmp_path):
    path = zip_bomb(tmp_path / "bomb.xlsx", 300)
    assert path.stat().st_size < 2 << 20
    assert error_of({"path": path}) == ("data.path: bomb.xlsx expands to 300 MB of XML when opened, above the "
                                        "limit of 256 MB; raise data.limits.unzipped_mb to read it, or save the "
                                        "sheet as CSV")


def test_the_unzipped_limit_can_be_raised(tmp_path):
    path = zip_bomb(tmp_path / "padded.xlsx", 2)
    assert "limit of 1 MB" in error_of({"path": path, "limits": {"unzipped_mb": 1}})
    assert load_dataset({"path": path, "limits": {"unzipped_mb": 3}}, ["x"]).columns["x"].tolist() == [1.0]


def test_a_workbook_that_is_not_a_zip_is_one_line(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"PK\x03\x04 truncated")
    assert error_of({"path": path}).startswith("data.path: cannot read fake.xlsx as an Excel workbook: it is not "
                                               "a valid zip archive")


def test_a_shared_string_index_out_of_range_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "strings.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["x", "label"])
    book.active.append([1, "a"])
    book.save(path)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b't="inlineStr"><is><t>a</t></is>', b't="s"><v>999</v>')
    assert b"<v>999</v>" in parts[sheet]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    message = error_of({"path": path})
    assert message.startswith("data.path: cannot read sheet 'Sheet' of strings.xlsx: the workbook is damaged")


def test_the_cli_refuses_a_fifo_with_exit_2_and_no_traceback(tmp_path):
    os.mkfifo(tmp_path / "data.csv")
    config = write_config(tmp_path, """
        data: data.csv
        model: {formula: "y ~ a * x"}
        """)
    done = run_cli("validate", str(config))
    assert done.returncode == 2
    assert "is a named pipe (FIFO), not a regular file" in done.stderr and "Traceback" not in done.stderr


def test_the_limits_are_config_keys(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n" + "1,2\n" * 1000)
    config = write_config(tmp_path, """
        data: {path: d.csv, limits: {file_mb: 0.001}}
        model: {formula: "y ~ a * x"}
        """)
    done = run_cli("validate", str(config))
    assert done.returncode == 2 and "raise data.limits.file_mb to read it" in done.stderr
