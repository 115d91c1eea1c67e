"""Many analysts at once on the department's server: imports of different communes run side by
side, imports of one commune queue, and whatever else writes a record between an import's plan
and its write (another import's scope, an analyst's edit) is merged, never overwritten.

Each analyst is a thread with its own connections (its own ServerDatabase), as two processes
would be; a progress callback holds an import at the moment it is about to write, so the
interleaving each test is about happens every time, not by luck."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from hatang_desktop.core.editing import EditConflict, read_values, save_record
from hatang_desktop.core.exchange.conflicts import list_conflicts
from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import import_workbook
from hatang_desktop.core.model import Site
from hatang_desktop.core.server.database import RecordChangedError
from hatang_desktop.core.storage.targets import open_database, parse_server_url
from tests.core.test_excel_sync import SITES, edit_cells

from .cli_helpers import rows

APPLYING = "ghi / applying"
WAIT = 60


def _sql(url: str):
    """A connection of our own, as psql or QGIS would hold one (not the app's)."""
    return create_engine(parse_server_url(url).sqlalchemy_url(),
                         connect_args={"application_name": "hatang-test-observer"})


class Analyst(threading.Thread):
    """One analyst importing one workbook; `hold` (an Event) keeps the import waiting just before
    it writes, `at_write` is set when it gets there."""

    def __init__(self, url: str, book, name: str, hold: threading.Event | None = None):
        super().__init__(name=name, daemon=True)
        self.url, self.book, self.hold = url, book, hold
        self.at_write = threading.Event()
        self.result = None
        self.error: BaseException | None = None

    def progress(self, stage: str, _fraction: float) -> None:
        if stage == APPLYING:
            self.at_write.set()
            if self.hold is not None:
                assert self.hold.wait(WAIT), "never released"

    def run(self) -> None:
        try:
            with open_database(self.url) as db:
                self.result = import_workbook(db, self.book, user=self.name, progress=self.progress)
        except BaseException as exc:  # seen by the test, not lost in the thread
            self.error = exc

    def finish(self):
        self.join(WAIT)
        assert not self.is_alive(), f"{self.name} did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def _communes_with_sites(url: str, n: int = 2) -> list[str]:
    return [c for (c,) in rows(url, "SELECT commune_code FROM sites WHERE deleted = 0 AND tower_type = "
                                    "'ground_tower' GROUP BY commune_code HAVING count(*) >= 2 "
                                    "ORDER BY commune_code LIMIT :n", n=n)]


def _sites_of(url: str, commune: str) -> list[str]:
    return [u for (u,) in rows(url, "SELECT uuid FROM sites WHERE deleted = 0 AND tower_type = 'ground_tower' "
                                    "AND commune_code = :c ORDER BY id", c=commune)]


def _export(url: str, out, commune: str | None = None):
    with open_database(url, readonly=True) as db:
        export_workbook(db, out, commune=commune)
    return out


def _waiting_on_advisory_lock(url: str) -> int:
    with _sql(url).connect() as c:
        return c.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar()


def test_two_communes_import_side_by_side(server_sample_url, tmp_path):
    url = server_sample_url
    a, b = _communes_with_sites(url)
    books = {}
    for commune in (a, b):
        books[commune] = _export(url, tmp_path / f"{commune}.xlsx", commune)
        edit_cells(books[commune], SITES, _sites_of(url, commune)[0], {"Tên trạm": f"Trạm của xã {commune}"})
    both_at_write = threading.Barrier(2, timeout=WAIT)
    analysts = [Analyst(url, books[c], f"Cán bộ {c}") for c in (a, b)]
    for x in analysts:   # each waits at its write for the other: only imports running side by side get past
        x.progress = (lambda stage, _f: both_at_write.wait() if stage == APPLYING else None)
        x.start()
    results = [x.finish() for x in analysts]
    assert all(r.applied and r.total["updated"] == 1 and r.total["conflicts"] == 0 for r in results)
    for commune in (a, b):
        assert rows(url, "SELECT name FROM sites WHERE uuid = :u", u=_sites_of(url, commune)[0]) == \
            [(f"Trạm của xã {commune}",)]
    logged = rows(url, 'SELECT o."user", o.description FROM operations o JOIN change_log c ON c.operation_id = o.id '
                       "WHERE c.field = 'name' ORDER BY o.id")
    assert sorted(u for u, _d in logged) == sorted(f"Cán bộ {c}" for c in (a, b))
    assert all(d.startswith("Nhập sổ Excel") for _u, d in logged)


def test_two_imports_of_one_commune_queue_and_lose_nothing(server_sample_url, tmp_path):
    """Two analysts import overlapping edits of the same records from the same export at once:
    the second waits for the first, then merges against it: each edit is applied or a conflict."""
    url = server_sample_url
    commune = _communes_with_sites(url, 1)[0]
    s1, s2 = _sites_of(url, commune)[:2]
    first = _export(url, tmp_path / "first.xlsx", commune)
    second = tmp_path / "second.xlsx"
    second.write_bytes(first.read_bytes())
    edit_cells(first, SITES, s1, {"Tên trạm": "Tên của người thứ nhất", "Chiều cao cột (m)": 41})
    edit_cells(second, SITES, s1, {"Tên trạm": "Tên của người thứ hai", "Địa chỉ": "Số 2 đường Hai"})
    edit_cells(second, SITES, s2, {"Tên trạm": "Trạm thứ hai đổi tên"})

    release = threading.Event()
    one = Analyst(url, first, "Người thứ nhất", hold=release)
    one.start()
    assert one.at_write.wait(WAIT)
    two = Analyst(url, second, "Người thứ hai")
    two.start()
    deadline = time.monotonic() + WAIT
    while _waiting_on_advisory_lock(url) == 0:   # the second queues on the commune's lock
        assert time.monotonic() < deadline and two.is_alive(), "the second import did not wait"
        time.sleep(0.05)
    assert not two.at_write.is_set()
    release.set()
    r1, r2 = one.finish(), two.finish()
    assert r1.applied and r1.total["updated"] == 1 and r1.total["conflicts"] == 0
    assert r2.applied and r2.total["updated"] == 2 and r2.total["conflicts"] == 1

    [(name, height, address)] = rows(url, "SELECT name, height_m, address FROM sites WHERE uuid = :u", u=s1)
    assert (name, height, address) == ("Tên của người thứ nhất", 41, "Số 2 đường Hai")
    assert rows(url, "SELECT name FROM sites WHERE uuid = :u", u=s2) == [("Trạm thứ hai đổi tên",)]
    with open_database(url, readonly=True) as db:
        [c] = list_conflicts(db)
    assert (c.record_uuid, c.field, c.local, c.theirs) == (s1, "name", "Tên của người thứ nhất", "Tên của người thứ hai")
    # 0 lost: each of the five edits is in the record or in a stored conflict.
    edits = [(s1, "name", "Tên của người thứ nhất"), (s1, "height_m", 41), (s1, "name", "Tên của người thứ hai"),
             (s1, "address", "Số 2 đường Hai"), (s2, "name", "Trạm thứ hai đổi tên")]
    assert _lost(url, edits) == []


def _lost(url: str, edits: list[tuple[str, str, object]]) -> list:
    """The edits that are neither the record's value now nor an open conflict's value."""
    with open_database(url, readonly=True) as db:
        conflicts = {(c.record_uuid, c.field, c.theirs) for c in list_conflicts(db)}
    out = []
    for uuid, field, value in edits:
        [(now,)] = rows(url, f"SELECT {field} FROM sites WHERE uuid = :u", u=uuid)
        if now != value and (uuid, field, value) not in conflicts:
            out.append((uuid, field, value))
    return out


def test_a_record_written_between_plan_and_write_is_planned_again(server_sample_url, tmp_path):
    """The province's workbook and a commune's workbook do not queue on one lock: the commune's
    import writes a site while the province's import holds its plan. The province's update finds
    the version moved on, plans that record again in its transaction: the field both changed is a
    conflict, the others are applied, nothing is overwritten."""
    url = server_sample_url
    commune = _communes_with_sites(url, 1)[0]
    site = _sites_of(url, commune)[0]
    province = _export(url, tmp_path / "tinh.xlsx")
    local = _export(url, tmp_path / "xa.xlsx", commune)
    edit_cells(province, SITES, site, {"Tên trạm": "Tên theo Sở", "Chiều cao cột (m)": 52})
    edit_cells(local, SITES, site, {"Tên trạm": "Tên theo xã", "Địa chỉ": "Thôn Một"})

    release = threading.Event()
    dept = Analyst(url, province, "Sở", hold=release)
    dept.start()
    assert dept.at_write.wait(WAIT)                        # planned against the record at its version
    commune_import = Analyst(url, local, "Xã")
    commune_import.run()                                   # the commune's import, start to end, meanwhile
    assert commune_import.error is None and commune_import.result.applied
    [(version_between,)] = rows(url, "SELECT version FROM sites WHERE uuid = :u", u=site)
    release.set()
    result = dept.finish()
    assert result.applied and result.total["conflicts"] == 1 and result.total["updated"] == 1

    [(name, height, address, version)] = rows(url, "SELECT name, height_m, address, version FROM sites WHERE uuid = :u",
                                              u=site)
    assert (name, height, address) == ("Tên theo xã", 52, "Thôn Một") and version == version_between + 1
    with open_database(url, readonly=True) as db:
        [c] = list_conflicts(db)
    assert (c.field, c.local, c.theirs) == ("name", "Tên theo xã", "Tên theo Sở")
    assert _lost(url, [(site, "name", "Tên theo Sở"), (site, "height_m", 52), (site, "name", "Tên theo xã"),
                       (site, "address", "Thôn Một")]) == []


def test_an_edit_and_an_import_of_one_site(server_sample_url, tmp_path):
    """An analyst saves a site through core.editing while a workbook import changes it. The
    import holds its plan; the edit commits; the import merges against the edit. Then an edit
    planned on the old state meets the import's write: it plans again, and a field both changed
    is an EditConflict (a message, nothing written), never a traceback or an overwrite."""
    url = server_sample_url
    commune = _communes_with_sites(url, 1)[0]
    site = _sites_of(url, commune)[0]
    book = _export(url, tmp_path / "xa.xlsx", commune)
    edit_cells(book, SITES, site, {"Tên trạm": "Tên trong sổ", "Chiều cao cột (m)": 33})

    release = threading.Event()
    importer = Analyst(url, book, "Người nhập", hold=release)
    importer.start()
    assert importer.at_write.wait(WAIT)
    with open_database(url) as db:
        base = read_values(db, "sites", site)
        save_record(db, "sites", {"name": "Tên do người sửa", "address": "Số 9"}, uuid=site, base=base,
                    user="Người sửa")
    release.set()
    result = importer.finish()
    assert result.applied and result.total["conflicts"] == 1
    [(name, height, address)] = rows(url, "SELECT name, height_m, address FROM sites WHERE uuid = :u", u=site)
    assert (name, height, address) == ("Tên do người sửa", 33, "Số 9")

    # The other way round: the form was opened before the import wrote.
    with open_database(url) as db:
        opened = read_values(db, "sites", site)
    again = tmp_path / "xa2.xlsx"
    _export(url, again, commune)
    edit_cells(again, SITES, site, {"Ghi chú": "ghi chú từ sổ"})
    with open_database(url) as db:
        assert import_workbook(db, again, user="Người nhập").applied
        with pytest.raises(EditConflict) as raised:
            save_record(db, "sites", {"note": "ghi chú của người sửa"}, uuid=site, base=opened, user="Người sửa")
    assert "thay đổi" in str(raised.value) and "changed" in str(raised.value)
    assert rows(url, "SELECT note FROM sites WHERE uuid = :u", u=site) == [("ghi chú từ sổ",)]


def test_an_orm_write_that_loses_the_race_is_a_message(server_sample_url):
    """The ORM's version_id_col check (StaleDataError) on the server: one clear line, nothing written."""
    url = server_sample_url
    [(site_id, uuid)] = rows(url, "SELECT id, uuid FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    with open_database(url) as db:
        with pytest.raises(RecordChangedError) as raised:
            with db.operation("Sửa tên", user="Người sửa") as s:
                site = s.get(Site, site_id)
                with _sql(url).begin() as other:   # QGIS, psql or another analyst, committed first
                    other.execute(text("UPDATE sites SET name = 'Tên từ QGIS' WHERE uuid = :u"), {"u": uuid})
                site.name = "Tên trong ứng dụng"
    assert "người khác" in str(raised.value) and "someone else" in str(raised.value)
    assert rows(url, "SELECT name FROM sites WHERE uuid = :u", u=uuid) == [("Tên từ QGIS",)]


def test_an_edit_checks_the_version_it_read_when_it_writes(server_sample_url, monkeypatch):
    """Between an edit's last read and its UPDATE another transaction commits a change to the
    same site (READ COMMITTED lets it): the edit's UPDATE ... AND version = <read> writes no row,
    the edit plans again, and both changes stay."""
    from hatang_desktop.core.editing import writes

    url = server_sample_url
    [(uuid,)] = rows(url, "SELECT uuid FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    read_row = writes._Tracker.row
    interleaved = []

    def someone_writes_then_row(self, table, u):
        # After save_record's own version check, before the write reads the row it updates.
        if table == "sites" and not interleaved:
            interleaved.append(True)
            with _sql(url).begin() as other:
                other.execute(text("UPDATE sites SET address = 'Ghi từ QGIS' WHERE uuid = :u"), {"u": u})
        return read_row(self, table, u)

    monkeypatch.setattr(writes._Tracker, "row", someone_writes_then_row)
    with open_database(url) as db:
        base = read_values(db, "sites", uuid)
        save_record(db, "sites", {"name": "Tên do người sửa"}, uuid=uuid, base=base, user="Người sửa")
    assert interleaved
    assert rows(url, "SELECT name, address FROM sites WHERE uuid = :u", u=uuid) == [("Tên do người sửa", "Ghi từ QGIS")]
