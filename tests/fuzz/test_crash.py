"""kill -9 at random moments of `hatang import-xlsx`, `hatang export-xlsx` and `hatang check`
(issue 16), seeded: the same moments on every run. What is checked after each kill is in crash.py;
the figures are printed in the session summary under "kill -9 figures".

Some runs use thresholds forced to 0 (crash.FORCE_FORK) so that the 300-site sample forks the
export's and the import's worker as a province's database does, and the kill has a worker to
leave behind.
"""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

import pytest

from .book import number_cell, text_cell
from .crash import (CRASH_FIGURES, differing_tables, folder_files, hatang_argv, integrity, run_to_end,
                    start_and_kill, state, valid_workbook)
from .oracle import digest, run_cli, settle

SEED = 16
# Kills per command in CI (a handful each: every kill costs a run and a rerun, ~2 s).
KILLS = {"import-xlsx": 4, "export-xlsx": 3, "check": 3, "package": 2}
FORKED_KILLS = {"import-xlsx": 2, "export-xlsx": 2}


@pytest.fixture(scope="module")
def big_edit(fuzz_sources, tmp_path_factory) -> Path:
    """A workbook changing every site's height and every pole's road: an import that writes ~1,500
    records, so a kill can land inside the write."""
    book = fuzz_sources.fresh_book()
    sites = book.sheet(fuzz_sources.sheet_name("sites"))
    j = sites.column("Chiều cao cột (m)")
    for i in range(1, len(sites.rows)):
        sites.set(i, j, number_cell(20.5 + i % 40))
    poles = book.sheet(fuzz_sources.sheet_name("poles"))
    j = poles.column("Tuyến đường")
    for i in range(1, len(poles.rows)):
        poles.set(i, j, text_cell(f"Đường thử nghiệm số {i}"))
    return book.save(tmp_path_factory.mktemp("crash_book") / "sua_nhieu.xlsx")


def _fresh_db(src, folder: Path) -> Path:
    folder.mkdir(parents=True)
    db = folder / "sample.db"
    shutil.copyfile(src.db, db)
    return db


def _argv(args: list[str], folder: Path) -> list[str]:
    return [str(folder / "sample.db") if a == "DB" else str(folder / "out.xlsx") if a == "OUT" else a for a in args]


_REFERENCES: dict[tuple, tuple] = {}


def _references(src, tmp: Path, args: list[str]) -> tuple[dict, dict, dict, float]:
    """The states before, after one complete run and after a second one; the run's duration
    (made once per command: the forked runs share them)."""
    key = (str(src.db), tuple(args))
    if key not in _REFERENCES:
        _REFERENCES[key] = _make_references(src, tmp, args)
    return _REFERENCES[key]


def _make_references(src, tmp: Path, args: list[str]) -> tuple[dict, dict, dict, float]:
    db = _fresh_db(src, tmp / "reference")
    before = state(db)
    argv = _argv(args, db.parent)
    p, seconds = run_to_end(hatang_argv(argv))
    assert p.returncode in (0, 3), p.stderr[-2000:]
    once = state(db)
    assert run_cli(argv).code in (0, 3)
    return before, once, state(db), seconds


def _judge_db(db: Path, states: dict[str, dict], where: str, problems: list[str]) -> str | None:
    """Integrity, and which reference state the killed run left ('before' or 'once')."""
    check = integrity(db)
    if check != "ok":
        problems.append(f"{where}: integrity_check says {check[:200]}")
        return None
    now = state(db)
    for name in ("before", "once"):
        if now == states[name]:
            return name
    problems.append(f"{where}: the database is neither as before nor as after the command "
                    f"(tables differing from after: {differing_tables(now, states['once'])[:6]})")
    return None


def _run_kills(command: str, src, tmp: Path, args: list[str], kills: int, force_fork: bool,
               extra_check=None, prepare=None, final_check=None) -> None:
    t0 = time.perf_counter()
    before, once, twice, seconds = _references(src, tmp / "ref", args)
    states = {"before": before, "once": once}
    rnd = random.Random(f"{SEED}-{command}-{force_fork}")
    label = command + (" (forked worker)" if force_fork else "")
    problems: list[str] = []
    counts = CRASH_FIGURES.by_command.setdefault(label, [0, 0])
    for k in range(kills):
        folder = tmp / f"kill{k}"
        db = _fresh_db(src, folder)
        argv = _argv(args, folder)
        if prepare:
            prepare(folder, k)
        files_before = folder_files(folder)
        # Past Python's start (~40% of a run here): most kills land in the command's own work.
        delay = rnd.uniform(0.35, 0.95) * seconds
        kill = start_and_kill(hatang_argv(argv, force_fork), delay)
        where = f"{label} kill {k} at {delay:.2f} s of {seconds:.2f} s"
        before_problems = len(problems)
        CRASH_FIGURES.kills += 1
        counts[0] += 1
        if kill.finished_first:
            CRASH_FIGURES.finished_first += 1
            if kill.returncode not in (0, 3):
                problems.append(f"{where}: ended by itself with exit {kill.returncode}: {kill.stderr[-300:]}")
        if kill.leftover:
            problems.append(f"{where}: {len(kill.leftover)} process(es) of the killed command still alive "
                            f"2 s later (pids {kill.leftover}; killed by the test)")
        left = _judge_db(db, states, where, problems)
        if left == "before":
            CRASH_FIGURES.before_state += 1
        elif left == "once":
            CRASH_FIGURES.after_state += 1
        if extra_check:
            extra_check(folder, where, problems, files_before)
        # The next run: completes, ends in the state one more run gives, and leaves nothing behind.
        rerun = run_cli(argv)
        if rerun.code not in (0, 3) or rerun.traceback:
            problems.append(f"{where}: the next run failed (exit {rerun.code}): "
                            f"{(rerun.traceback or rerun.stderr).strip()[-300:]}")
        settle(db)
        final = state(db)
        want = once if left == "before" else twice
        if left is not None and final != want:
            problems.append(f"{where}: after the next run the database is not as a complete run leaves it "
                            f"({differing_tables(final, want)[:6]})")
        if final_check:
            final_check(folder, where, problems)
        stray = sorted(n for n in folder_files(folder) - files_before
                       if not n.endswith(("-wal", "-shm", "_anh")) and ".bak" not in n and n != "out.xlsx")
        if stray:
            problems.append(f"{where}: left after the next run: {stray}")
        for n in folder_files(folder):
            if ".bak" in n and not n.startswith(".") and integrity(folder / n) != "ok":
                problems.append(f"{where}: a backup under a backup's name is not a whole database: {n}")
        if len(problems) > before_problems:
            counts[1] += 1
            CRASH_FIGURES.failed += 1
    CRASH_FIGURES.seconds += time.perf_counter() - t0
    CRASH_FIGURES.failures += problems
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("force_fork", [False, True], ids=["", "forked"])
def test_kill_import(fuzz_sources, big_edit, tmp_path, force_fork):
    n = FORKED_KILLS["import-xlsx"] if force_fork else KILLS["import-xlsx"]
    _run_kills("import-xlsx", fuzz_sources, tmp_path, ["import-xlsx", "DB", str(big_edit)], n, force_fork)


def test_kill_package_import(fuzz_sources, tmp_path):
    """A sync package: the database as before or after, and after the next run every photo it
    records has its file, byte for byte."""
    import hashlib
    import sqlite3

    def photos_whole(folder: Path, where: str, problems: list[str]) -> None:
        conn = sqlite3.connect(folder / "sample.db")
        try:
            rows = conn.execute("SELECT file_name, sha256 FROM photos WHERE deleted = 0").fetchall()
        finally:
            conn.close()
        if len(rows) != 2:
            problems.append(f"{where}: {len(rows)} photos recorded after the next run, the package has 2")
        for name, sha in rows:
            f = folder / "sample_anh" / name
            if not f.is_file() or hashlib.sha256(f.read_bytes()).hexdigest() != sha:
                problems.append(f"{where}: photo {name} recorded without its file")

    _run_kills("import-xlsx (package)", fuzz_sources, tmp_path, ["import-xlsx", "DB", str(fuzz_sources.package)],
               KILLS["package"], False, final_check=photos_whole)


def test_kill_check(fuzz_sources, tmp_path):
    _run_kills("check", fuzz_sources, tmp_path, ["check", "DB", "--json"], KILLS["check"], False)


@pytest.mark.parametrize("force_fork", [False, True], ids=["", "forked"])
def test_kill_export(fuzz_sources, tmp_path, force_fork):
    src = fuzz_sources
    old = src.xlsx.read_bytes()
    sheets = {}
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(src.xlsx))
    sheets = {n: len(wb.get_sheet_by_name(n).to_python()) for n in wb.sheet_names}

    def prepare(folder: Path, k: int) -> None:
        if k % 2 == 0:  # half the kills have an earlier export at the target
            (folder / "out.xlsx").write_bytes(old[: len(old) // 3] if k % 4 == 2 else old)

    def target_ok(folder: Path, where: str, problems: list[str], files_before: set[str]) -> None:
        out = folder / "out.xlsx"
        db = folder / "sample.db"
        if digest(db) != digest(src.db):
            problems.append(f"{where}: the export changed the database file")
        if not out.exists():
            if "out.xlsx" in files_before:
                problems.append(f"{where}: the earlier file at the target is gone")
            return
        if "out.xlsx" in files_before and out.read_bytes() in (old, old[: len(old) // 3]):
            return  # the old file, untouched
        why = valid_workbook(out, sheets)
        if why:
            problems.append(f"{where}: the target is neither the old file nor a complete workbook: {why}")

    n = FORKED_KILLS["export-xlsx"] if force_fork else KILLS["export-xlsx"]
    _run_kills("export-xlsx", src, tmp_path, ["export-xlsx", "DB", "OUT"], n, force_fork,
               extra_check=target_ok, prepare=prepare)
