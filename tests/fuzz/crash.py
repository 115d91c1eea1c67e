"""kill -9 at random moments of `hatang import-xlsx`, `hatang export-xlsx` and `hatang check`.

After each kill: the database passes `PRAGMA integrity_check` and holds either the state before the
command or the state the command leaves when it finishes (a logical comparison that ignores the
clock and the identifiers a run makes up); no process of the killed command is left (the forked
workers included); an export's target is the old file, absent, or a complete workbook; a backup
under a backup's name is a whole database; and after the next run of the same command nothing
but the expected files is left in the folders (temporary files of the killed run included).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# Columns a run fills from the clock or with fresh identifiers: two complete runs differ there.
VOLATILE = {"updated_at", "time", "started_at", "created_at", "resolved_at", "found_on"}
# Tables whose rows carry identifiers made up by the run (uuid4): compared without them.
MADE_UP_IDS = {"findings": ("uuid",), "conflicts": ("uuid",), "change_log": ("record_uuid",)}

# Runs `hatang` with the forked-worker thresholds at 0, so the small sample forks a worker as the
# province's database does: the kill then has a worker to leave behind.
FORCE_FORK = (
    "import sys\n"
    "import hatang_desktop.core.exchange.export as export\n"
    "import hatang_desktop.core.exchange.importer as importer\n"
    "export.MIN_ROWS = 0\n"
    "importer.FORK_READ_BYTES = 0\n"
    "from hatang_desktop.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n")


@dataclass
class CrashFigures:
    kills: int = 0
    finished_first: int = 0
    before_state: int = 0
    after_state: int = 0
    failed: int = 0
    seconds: float = 0.0
    by_command: dict[str, list[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"kill -9: {self.kills} kills ({self.finished_first} runs ended before their kill), database "
               f"as before: {self.before_state}, as after: {self.after_state}, failed: {self.failed}; "
               f"{self.seconds:.1f} s"]
        for cmd, (kills, failed) in sorted(self.by_command.items()):
            out.append(f"  {cmd:28} kills {kills}, failed {failed}")
        out += [f"  FAILED {f}" for f in self.failures]
        return out


CRASH_FIGURES = CrashFigures()


def hatang_argv(args: list[str], force_fork: bool = False) -> list[str]:
    if force_fork:
        return [sys.executable, "-c", FORCE_FORK, *args]
    return [sys.executable, "-m", "hatang_desktop", *args]


def session_processes(sid: int) -> list[int]:
    """Pids of the processes in session `sid` (the killed command was started as its leader, so
    its forked workers are there too, whoever their parent is now)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        # after the command name: state, ppid, pgrp, session...
        if int(fields[3]) == sid and fields[0] != b"Z":
            out.append(int(entry))
    return out


def integrity(path: Path) -> str:
    """`PRAGMA integrity_check` as the next program to open the file sees it (a hot WAL is
    rolled back or forward by that open, as SQLite does)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def state(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows, without the clock's columns and the run's made-up identifiers, sorted:
    what "the same data" means between two complete runs of one command."""
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        out = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info('{table}')")]
            masked = VOLATILE | set(MADE_UP_IDS.get(table, ()))
            keep = [i for i, c in enumerate(cols) if c not in masked]
            if table == "change_log":  # a record uuid the run made up only for findings and conflicts
                t = cols.index("table_name")
                u = cols.index("record_uuid")
                rows = [tuple(None if (i == u and r[t] in ("findings", "conflicts")) else r[i] for i in range(len(cols))
                              if cols[i] not in VOLATILE) for r in conn.execute(f"SELECT * FROM {table}")]
            else:
                rows = [tuple(r[i] for i in keep) for r in conn.execute(f'SELECT * FROM "{table}"')]
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def differing_tables(a: dict, b: dict) -> list[str]:
    return [t for t in sorted(set(a) | set(b)) if a.get(t) != b.get(t)]


def run_to_end(argv: list[str], timeout: float = 300) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       env=os.environ | {"PYTHONWARNINGS": "ignore"})
    return p, time.perf_counter() - t0


@dataclass
class Kill:
    """One kill: the process started, killed after `delay` seconds, and what was found after."""
    command: str
    delay: float
    finished_first: bool = False
    returncode: int | None = None
    leftover: list[int] = field(default_factory=list)
    stderr: str = ""


def start_and_kill(argv: list[str], delay: float) -> Kill:
    import tempfile

    # stderr to a file, not a pipe: a worker left alive would hold a pipe open (and block on it).
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                             env=os.environ | {"PYTHONWARNINGS": "ignore"})
        k = Kill(argv[-1], delay)
        try:
            p.wait(timeout=delay)
            k.finished_first = True
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
        k.returncode = p.returncode
        # A worker told to die with its parent is gone within moments; give it two seconds.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            k.leftover = session_processes(p.pid)
            if not k.leftover:
                break
            time.sleep(0.05)
        for pid in k.leftover:  # ours (the session of the command we started): ended, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        err.seek(0)
        k.stderr = err.read().decode("utf-8", "replace")
    return k


def folder_files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def valid_workbook(path: Path, sheets: dict[str, int]) -> str | None:
    """Why `path` is not a complete export (None when it is): every sheet there, each with its rows."""
    try:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        for name, rows in sheets.items():
            got = len(wb.get_sheet_by_name(name).to_python())
            if got != rows:
                return f"sheet {name!r} has {got} rows, expected {rows}"
        missing = set(sheets) - set(wb.sheet_names)
        return f"sheets missing: {sorted(missing)}" if missing else None
    except Exception as exc:  # noqa: BLE001 - any failure to read is the answer
        return f"unreadable: {type(exc).__name__}: {exc}"[:200]
