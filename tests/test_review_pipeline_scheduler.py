"""A fit given a scheduler address no Dask scheduler answers at is bad input: exit 2, one line
naming the key and the address, and quickly (the fit once reported a malformed address as an
internal error after a 40 s hang, with a ``Client.__del__`` traceback)."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.cli_helpers import DECAY_CONFIG, run_cli, write_decay_project

pytest.importorskip("distributed")


@pytest.mark.parametrize("glob", [False, True], ids=["one file", "a glob of files"])
def test_a_malformed_scheduler_address_is_one_line_of_bad_input_at_once(tmp_path, glob):
    write_decay_project(tmp_path, {"config.yaml": DECAY_CONFIG + "    execution: {scheduler: notanaddress}\n"})
    if glob:                      # the files' rows would be read on the cluster (``dask_data.ClusterTable``)
        (tmp_path / "parts").mkdir()
        for name in ("a.csv", "b.csv"):
            shutil.copy(tmp_path / "decay.csv", tmp_path / "parts" / name)
        config = tmp_path / "config.yaml"
        config.write_text(config.read_text().replace("path: decay.csv", "path: parts/*.csv"))

    started = time.monotonic()
    done = run_cli("fit", "config.yaml", "--out", "out", "--no-reports", "-q", cwd=tmp_path)
    elapsed = time.monotonic() - started

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and lines[0].endswith(
        "execution.scheduler: cannot reach the Dask scheduler at notanaddress "
        "(missing port number in address 'notanaddress')")
    assert elapsed < 5
    assert not (tmp_path / "out").exists()


def test_the_scheduler_option_of_fit_is_checked_the_same_way(tmp_path):
    write_decay_project(tmp_path)
    done = run_cli("fit", "config.yaml", "--out", "out", "--no-reports", "-q", "--scheduler", "notanaddress",
                   cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: execution.scheduler: cannot reach the Dask scheduler at notanaddress "
        "(missing port number in address 'notanaddress')"]
