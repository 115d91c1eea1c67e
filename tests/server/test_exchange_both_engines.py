"""The Excel exchange on the server (engine_target): the workbook exported from the server's copy
of the sample holds what the file's does, and imports back onto the server changing nothing."""

from __future__ import annotations

import pytest

from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import import_workbook
from hatang_desktop.core.storage.targets import open_database

from .cli_helpers import sheets

pytestmark = pytest.mark.parametrize("engine_target", ["postgresql"], indirect=True)


def test_the_server_exports_the_files_workbook_and_reads_it_back_unchanged(engine_target, sample_db_path, tmp_path):
    with open_database(sample_db_path, readonly=True) as file_db:
        export_workbook(file_db, tmp_path / "file.xlsx")
    with open_database(engine_target) as db:
        export_workbook(db, tmp_path / "server.xlsx")
        # sheets() leaves out what names the moment and the database: the export minute (in the
        # summary's header, two exports straddled a minute in CI) and _metadata's own rows.
        expected, got = sheets(tmp_path / "file.xlsx"), sheets(tmp_path / "server.xlsx")
        assert got.keys() == expected.keys()
        for sheet in expected:
            assert got[sheet] == expected[sheet], sheet
        result = import_workbook(db, tmp_path / "server.xlsx")
    assert result.total["unchanged"] > 3000 and not result.applied
    assert result.total["inserted"] == result.total["updated"] == result.total["conflicts"] == 0
