"""A forked worker dies with its parent and a killed run leaves no temporary file behind (issue 16,
item 11). `kill -9` of `hatang export-xlsx` or `import-xlsx` used to leave the worker alive for
good (blocked writing its result to a pipe nobody read, ~450 MB each on the province sample) and
`.tmp.xlsx` files in the output folder.

The sample here is small, so the driver lowers the fork thresholds (MIN_ROWS, FORK_READ_BYTES) and
lets the worker fork although pytest has loaded Qt; it also holds the worker (busy) or the parent
(not reading: the worker's result fills the pipe) long enough to kill the parent mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .fault_env import edited_book

DRIVER = r"""
import os, sys, time
from hatang_desktop.core.exchange import export as export_module, export_parallel, importer

export_module.MIN_ROWS = 0
export_module.fork_allowed = lambda: True
importer.fork_allowed = lambda: True
importer.FORK_READ_BYTES = 0
hold, pidfile = sys.argv[1], sys.argv[2]
real = export_parallel.ForkedJob.__init__


def held(self, job, **kw):
    def busy(*args):
        time.sleep(120)
        return job(*args)
    real(self, busy if hold == "worker busy" else job, **kw)
    with open(pidfile + ".part", "w") as f:
        f.write(str(self._proc.pid))
    os.replace(pidfile + ".part", pidfile)
    if hold == "parent not reading":
        time.sleep(120)


export_parallel.ForkedJob.__init__ = held
from hatang_desktop.cli import main
sys.exit(main(sys.argv[3:]))
"""


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"   # a zombie nobody reaps is dead
    except FileNotFoundError:
        return True


def wait_for(predicate, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
@pytest.mark.parametrize("hold", ["worker busy", "parent not reading"])
@pytest.mark.parametrize("command", ["export-xlsx", "import-xlsx"])
def test_kill_9_of_the_parent_takes_the_worker_and_leaves_no_temporary(command, hold, sample_db_path, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    if command == "export-xlsx":
        args = ["export-xlsx", sample_db_path, out / "so.xlsx"]
    else:
        args = ["import-xlsx", sample_db_path, edited_book(sample_db_path, tmp_path / "book.xlsx")]
    pidfile = tmp_path / "worker.pid"
    parent = subprocess.Popen([sys.executable, "-c", DRIVER, hold, str(pidfile), *map(str, args)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    worker = None
    try:
        assert wait_for(pidfile.exists, 60), parent.stderr.read().decode() if parent.poll() is not None else ""
        worker = int(pidfile.read_text())
        if command == "export-xlsx" and hold == "worker busy":
            # The parent goes on to write the workbook and waits for the worker's sheets there.
            assert wait_for(lambda: any(p.name.startswith(".") for p in out.iterdir()), 60)
        else:
            time.sleep(1.5)   # the worker reads (and, parent not reading, fills the pipe)
        assert not gone(worker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        worker_died = wait_for(lambda: gone(worker), 5)
    finally:
        if worker is not None and not gone(worker):
            os.kill(worker, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
        parent.stderr.close()
    # The next run writing into that folder cleans up what the killed one left.
    again = subprocess.run([sys.executable, "-m", "hatang_desktop", "export-xlsx", str(sample_db_path),
                            str(out / "so2.xlsx")], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == ["so2.xlsx"]
    assert not [p for p in Path(sample_db_path).parent.iterdir() if p.name.startswith(".")]
    assert worker_died, "the worker outlived its parent"
