"""A large export forks a worker for the heaviest sheets: the workbook must be the same, byte for
byte, as one written in a single process, and any trouble in the worker must only cost time."""

from __future__ import annotations

import datetime as dt
import functools
import types
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from hatang_desktop.core.exchange import export as export_module
from hatang_desktop.core.exchange import export_parallel
from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import import_workbook
from hatang_desktop.core.storage.database import Database


def meta_part(path) -> str:
    """The part of `_metadata` (it carries the export time): sheets are numbered in their order."""
    return f"xl/worksheets/sheet{CalamineWorkbook.from_path(str(path)).sheet_names.index('_metadata') + 1}.xml"


@pytest.fixture
def db(sample_db_path, monkeypatch):
    monkeypatch.setattr(export_module, "MIN_ROWS", 0)   # the sample is small: fork anyway
    # pytest-qt has loaded Qt into this process, which fork_allowed refuses; nothing here uses Qt.
    monkeypatch.setattr(export_module, "fork_allowed", lambda: True)
    # One export minute for every export of a test: it is in each sheet's page header, and two
    # exports a few seconds apart straddled a minute once (seen under load).
    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 12, 7, 2, 30, tzinfo=tz)

    monkeypatch.setattr(export_module, "dt", types.SimpleNamespace(datetime=Frozen, UTC=dt.UTC))
    d = Database.open(sample_db_path)
    yield d
    d.close()


def parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None          # every CRC right
        return {n: z.read(n) for n in z.namelist()}


def test_forked_export_equals_single_process(db, tmp_path, monkeypatch):
    forks = []
    real = export_parallel.ForkedJob.__init__

    def counting(self, job, **kw):
        forks.append(job)
        real(self, job, **kw)

    monkeypatch.setattr(export_parallel.ForkedJob, "__init__", counting)
    one, two = tmp_path / "one.xlsx", tmp_path / "two.xlsx"
    export_workbook(db, one, backend="direct", parallel=False)
    assert not forks
    result = export_workbook(db, two, backend="direct")
    assert len(forks) == 1 and result.backend == "direct"
    a, b = parts(one), parts(two)
    assert a.keys() == b.keys()
    assert [n for n in a if a[n] != b[n]] in ([], [meta_part(two)])
    wb = CalamineWorkbook.from_path(str(two))
    assert wb.get_sheet_by_name("Cáp trên cột").to_python()[1]
    # And the forked export imports back as "no change".
    again = import_workbook(db, two)
    assert again.total["unchanged"] == sum(result.rows.values()) and not again.applied


@pytest.mark.parametrize("trouble", ["fails", "sees another state"])
def test_worker_trouble_falls_back_to_one_process(db, tmp_path, monkeypatch, trouble):
    def broken(*_args):
        if trouble == "fails":
            raise RuntimeError("worker broke")
        return None

    monkeypatch.setattr(export_module, "_worker", broken)
    good, out = tmp_path / "good.xlsx", tmp_path / "out.xlsx"
    export_workbook(db, good, backend="direct", parallel=False)
    result = export_workbook(db, out, backend="direct")
    a, b = parts(good), parts(out)
    assert [n for n in a if a[n] != b[n]] in ([], [meta_part(out)])
    assert sum(result.rows.values()) > 300
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary file left behind


def test_no_fork_where_threads_run(monkeypatch):
    """Inside the desktop app (Qt loaded, other threads alive) the export never forks."""
    import sys
    import threading

    monkeypatch.delitem(sys.modules, "PySide6.QtCore", raising=False)
    assert threading.active_count() == 1 and export_parallel.fork_allowed()
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not export_parallel.fork_allowed()
    finally:
        stop.set()
        t.join()
    monkeypatch.setitem(sys.modules, "PySide6.QtCore", object())
    assert not export_parallel.fork_allowed()


def test_split_balances_the_work():
    mine = export_parallel.split({"a": 10, "b": 6, "c": 3, "d": 1}, parent_extra=0)
    child = sum({"a": 10, "b": 6, "c": 3, "d": 1}[k] for k in mine)
    assert mine and child in (10, 11)   # the heaviest sheet, plus at most a light one


def _edited_export(db, tmp_path):
    """A workbook with one site renamed, for the import tests."""
    import openpyxl

    book = tmp_path / "book.xlsx"
    export_workbook(db, book, parallel=False)
    wb = openpyxl.load_workbook(book)
    ws = wb["Trạm BTS"]
    name_col = [c.value for c in ws[1]].index("Tên trạm") + 1
    ws.cell(row=2, column=name_col).value = "Trạm đổi tên"
    wb.save(book)
    return book


def test_forked_import_reads_like_one_process(db, tmp_path, monkeypatch):
    from hatang_desktop.core.exchange import importer
    from hatang_desktop.core.exchange.importer import read_workbook
    from hatang_desktop.core.forms import load_forms

    book = _edited_export(db, tmp_path)
    forms = load_forms()
    alone = read_workbook(db, book, forms)
    forks = []
    real = export_parallel.ForkedJob.__init__
    monkeypatch.setattr(export_parallel.ForkedJob, "__init__", lambda self, job, **kw: (forks.append(1), real(self, job, **kw))[1])
    monkeypatch.setattr(importer, "fork_allowed", lambda: True)
    monkeypatch.setattr(importer, "FORK_READ_BYTES", 0)
    forked = read_workbook(db, book, forms)
    assert forks == [1]
    assert [(r.record, r.uuid, r.row, r.values) for r in forked[0]] == \
        [(r.record, r.uuid, r.row, r.values) for r in alone[0]]
    assert len(forked[0]) == 1 and forked[0][0].values["name"] == "Trạm đổi tên"
    assert [(u.record, u.uuid, u.row) for u in forked[2]["_untouched"]] == \
        [(u.record, u.uuid, u.row) for u in alone[2]["_untouched"]]
    # A worker that dies costs time only.
    monkeypatch.setattr(importer, "_prepare_each", _failing_after_one(importer._prepare_each))
    again = import_workbook(db, book)
    assert again.total["updated"] == 1 and again.applied


def _faulty_book(db, tmp_path):
    """An exported workbook edited as people do, with a fault in every data sheet and a list typed
    by hand: what every row parsed (trust_untouched=False) must read the same in one or two
    processes."""
    import openpyxl

    book = tmp_path / "faulty.xlsx"
    export_workbook(db, book, parallel=False)
    wb = openpyxl.load_workbook(book)
    for title, header, value in (("Trạm BTS", "Tên trạm", "Trạm đổi tên"), ("Trạm BTS", "Vĩ độ", "không rõ"),
                                 ("Cột treo cáp", "Chiều cao cột", "cao lắm"), ("DN trên trạm", "Doanh nghiệp", "=1/0"),
                                 ("Cáp trên cột", "Số sợi cáp", "=SUM(Z1:Z2)")):
        ws = wb[title]
        headers = [c.value for c in ws[1]]
        col = next(i for i, h in enumerate(headers, start=1) if h and str(h).startswith(header))
        ws.cell(row=3, column=col).value = value
    hand = wb.create_sheet("Danh sách trạm gõ tay")
    hand.append(["Mã trạm", "Tên trạm", "Vĩ độ", "Kinh độ", "Xã/phường"])
    hand.append(["HT-GT-01", "Trạm gõ tay", 18.33, 105.9, "Phường Thành Sen"])
    wb.save(book)
    return book


def test_forked_worst_case_read_is_the_one_process_read(db, tmp_path, monkeypatch):
    """Every row parsed: a forked worker reads and cleans part of the data sheets while this
    process reads and parses the rest; rows, problems (in order), warnings and the understood
    hand-typed sheet are the one process's."""
    from hatang_desktop.core.exchange import importer
    from hatang_desktop.core.exchange.importer import read_workbook
    from hatang_desktop.core.forms import load_forms

    book = _faulty_book(db, tmp_path)
    forms = load_forms()
    monkeypatch.setattr(importer, "fork_allowed", lambda: False)
    alone = read_workbook(db, book, forms, trust_untouched=False)
    forks, shares = [], []
    real = export_parallel.ForkedJob.__init__
    monkeypatch.setattr(export_parallel.ForkedJob, "__init__", lambda self, job, **kw: (forks.append(job), real(self, job, **kw))[1])
    real_share = importer._worker_share
    monkeypatch.setattr(importer, "_worker_share", lambda *a: (shares.append(real_share(*a)), shares[-1])[1])
    monkeypatch.setattr(importer, "fork_allowed", lambda: True)
    monkeypatch.setattr(importer, "FORK_READ_BYTES", 0)
    forked = read_workbook(db, book, forms, trust_untouched=False)
    assert len(forks) == 1 and shares[0] and len(shares[0]) < 7   # the worker read some sheets, not all

    def rows(read):
        return [(r.record, r.row, r.is_new, r.uuid if not r.is_new else None, r.version, r.deleted, r.values,
                 r.parent_code, r.extra) for r in read[0]]

    assert rows(forked) == rows(alone) and len(rows(alone)) > 3_000
    assert [str(p) for p in forked[1]] == [str(p) for p in alone[1]]
    said = " ".join(str(p) for p in alone[1])
    assert "cao lắm" in said and "không rõ" in said and ("#DIV/0!" in said or "=1/0" in said)
    assert {p.sheet for p in alone[1]} >= {"Trạm BTS", "Cột treo cáp", "DN trên trạm", "Cáp trên cột"}
    for key in ("_understood", "_warnings"):
        assert forked[2][key] == alone[2][key]
    assert [u["sheet"] for u in alone[2]["_understood"]] == ["Danh sách trạm gõ tay"]
    # A worker that fails after sending a sheet costs time only: this process reads the others.
    monkeypatch.setattr(importer, "_prepare_each", _failing_after_one(importer._prepare_each))
    forks.clear()
    again = read_workbook(db, book, forms, trust_untouched=False)
    assert len(forks) == 1 and sum(1 for s in shares[-1]) >= 2
    assert [str(p) for p in again[1]] == [str(p) for p in alone[1]] and rows(again) == rows(alone)


def _failing_after_one(prepare_each):
    """`importer._prepare_each` whose worker fails (in the child) after emitting its first sheet."""
    def failing(path, which, by_name, trusted, db_path, forms, emit):
        prepare_each(path, which[:1], by_name, trusted, db_path, forms, emit)
        raise RuntimeError("the worker fails after one sheet")
    return failing


def _emit_three(marker, emit):
    for k in range(3):
        emit((k, "x" * 1_000_000))   # each far more than a pipe holds
    marker.write_text("done")
    return "end"


def test_a_streamed_job_goes_on_while_the_parent_is_busy(tmp_path):
    """The items come in order, then the result; the child finishes its job although the parent
    reads nothing meanwhile (each send is a thread's: a pipe holds 64 KiB)."""
    import time

    marker = tmp_path / "marker"
    job = export_parallel.ForkedJob(functools.partial(_emit_three, marker), streamed=True)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)   # the parent busy elsewhere
    assert marker.exists(), "the child waited for the parent to read"
    assert [(k, len(s)) for k, s in job.stream()] == [(0, 1_000_000), (1, 1_000_000), (2, 1_000_000)]
    assert job.result() == "end"


def _emit_then_fail(emit):
    emit("first")
    raise ValueError("broken")


def test_a_streamed_job_that_fails_says_so_after_its_items():
    job = export_parallel.ForkedJob(_emit_then_fail, streamed=True)
    got = []
    with pytest.raises(export_parallel.WorkerFailed, match="broken"):
        for item in job.stream():
            got.append(item)
    assert got == ["first"]


IMPORT_DRIVER = r"""
import sys
from hatang_desktop.core.exchange import importer

started = []
if sys.argv[1] == "forked":   # the sample counts as large: a worker reads half of the sheets
    importer.fork_allowed = lambda: True
    importer.FORK_READ_BYTES = 0
    real = importer.ForkedJob
    importer.ForkedJob = lambda job, **kw: (started.append(1), real(job, **kw))[1]
else:
    importer.fork_allowed = lambda: False
from hatang_desktop.cli import main
code = main(sys.argv[2:])
print("workers", len(started), file=sys.stderr)
sys.exit(code)
"""


def _import_cli(mode: str, db_path, book) -> tuple[int, int, str, str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", IMPORT_DRIVER, mode, "import-xlsx", str(db_path), str(book),
                           "--json"], capture_output=True, text=True, timeout=600)
    workers = int(done.stderr.rsplit("workers", 1)[1].split()[0])
    return done.returncode, workers, done.stdout, done.stderr.rsplit("workers", 1)[0]


def test_hatang_import_xlsx_with_a_worker_is_the_one_process_import(sample_db_path, tmp_path):
    """`hatang import-xlsx` as a user runs it, with the reading worker and without: an edited
    workbook applies the same changes; a faulty one is refused with the same messages, exit 2,
    nothing written."""
    import json
    import shutil
    import sqlite3

    from .fault_env import dump, edited_book

    book = edited_book(sample_db_path, tmp_path / "sua.xlsx", rows=40)

    def sites(path):
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT uuid, name, version, deleted FROM sites ORDER BY uuid").fetchall()

    results = {}
    for mode in ("forked", "alone"):
        copy = tmp_path / f"{mode}.db"
        shutil.copyfile(sample_db_path, copy)
        code, workers, out, err = _import_cli(mode, copy, book)
        assert code == 0, err
        doc = json.loads(out)
        results[mode] = (workers, {k: doc[k] for k in ("inserted", "updated", "deleted", "conflicts", "unchanged",
                                                       "by_type")}, sites(copy))
    assert results["forked"][0] >= 1 and results["alone"][0] == 0
    assert results["forked"][1:] == results["alone"][1:]
    assert results["forked"][1]["updated"] == 40

    with Database.open(sample_db_path) as db:
        faulty = _faulty_book(db, tmp_path)
    refusals = {}
    for mode in ("forked", "alone"):
        copy = tmp_path / f"faulty_{mode}.db"
        shutil.copyfile(sample_db_path, copy)
        before = dump(copy)
        code, workers, out, err = _import_cli(mode, copy, faulty)
        assert code == 2 and dump(copy) == before
        refusals[mode] = (workers > 0, err)
    assert refusals["forked"][0] and not refusals["alone"][0]
    assert refusals["forked"][1] == refusals["alone"][1] and "cao lắm" in refusals["alone"][1]
