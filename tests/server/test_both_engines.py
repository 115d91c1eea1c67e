"""The same sample on a file and on the server answers the same (the engine_target fixture)."""

from __future__ import annotations

from hatang_desktop.core.info import database_info
from hatang_desktop.core.storage.targets import open_database


def test_info_is_the_same_on_both_engines(engine_target, sample_db_path):
    with open_database(sample_db_path, readonly=True) as file_db:
        expected = database_info(file_db)
    with open_database(engine_target, readonly=True) as db:
        got = database_info(db)
    assert got["counts"] == expected["counts"] and got["shared_sites"] == expected["shared_sites"]
    assert got["schema_version"] == expected["schema_version"] and got["province"] == expected["province"]
