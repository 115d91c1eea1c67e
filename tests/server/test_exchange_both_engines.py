"""The Excel exchange on the server (engine_target): the workbook exported from the server's copy
of the sample holds what the file's does, and imports back onto the server changing nothing."""

from __future__ import annotations

import openpyxl
import pytest

from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import import_workbook
from hatang_desktop.core.storage.targets import open_database

pytestmark = pytest.mark.parametrize("engine_target", ["postgresql"], indirect=True)


def _cells(path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_the_server_exports_the_files_workbook_and_reads_it_back_unchanged(engine_target, sample_db_path, tmp_path):
    with open_database(sample_db_path, readonly=True) as file_db:
        export_workbook(file_db, tmp_path / "file.xlsx")
    with open_database(engine_target) as db:
        export_workbook(db, tmp_path / "server.xlsx")
        expected, got = _cells(tmp_path / "file.xlsx"), _cells(tmp_path / "server.xlsx")
        assert got.keys() == expected.keys()
        for sheet in expected:
            if sheet == "_metadata":  # the export's time and the database's own id differ, nothing else
                own = ("exported_at", "database_id")
                assert {r[0]: r[1] for r in got[sheet][1:] if r[0] not in own} == {
                    r[0]: r[1] for r in expected[sheet][1:] if r[0] not in own}
                continue
            assert got[sheet] == expected[sheet], sheet
        result = import_workbook(db, tmp_path / "server.xlsx")
    assert result.total["unchanged"] > 3000 and not result.applied
    assert result.total["inserted"] == result.total["updated"] == result.total["conflicts"] == 0
