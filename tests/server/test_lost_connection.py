"""The connection to the server dies in the middle of an import (the server restarted, the
network went, an administrator ended the session): one line in both languages, exit 2, nothing
half-written; the next import completes."""

from __future__ import annotations

import importlib

from sqlalchemy import create_engine, text

from hatang_desktop.core.storage.targets import parse_server_url
from tests.core.test_excel_sync import SITES, edit_cells

from .cli_helpers import first_site, hatang, hatang_json, rows, scalar

APPLYING = "ghi / applying"
cli = importlib.import_module("hatang_desktop.cli.main")   # the module (the package exports its main())


def _state(url: str) -> tuple:
    """What an import writes: the records' versions, the log, the operations, the conflicts."""
    return (rows(url, "SELECT uuid, version, name FROM sites ORDER BY uuid"),
            scalar(url, "SELECT count(*) FROM change_log"), scalar(url, "SELECT count(*) FROM operations"),
            scalar(url, "SELECT count(*) FROM conflicts"))


def _end_the_import(url: str) -> int:
    """From a connection of our own, as an administrator would: end the app's session that holds
    an open transaction."""
    engine = create_engine(parse_server_url(url).sqlalchemy_url(),
                           connect_args={"application_name": "hatang-test-admin"})
    try:
        with engine.connect() as c:
            return len(c.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'hatang' AND state LIKE 'idle in transaction%'")).all())
    finally:
        engine.dispose()


def test_a_connection_lost_mid_import(server_sample_url, tmp_path, capsys, monkeypatch):
    url = server_sample_url
    book = tmp_path / "so.xlsx"
    hatang_json(capsys, "export-xlsx", url, book)
    uuid, _name, _commune = first_site(url)
    edit_cells(book, SITES, uuid, {"Tên trạm": "Tên sau khi nhập"})
    before = _state(url)

    ended = []
    printer = cli.progress_printer

    def cut_at_the_write(as_json):
        report = printer(as_json)

        def progress(stage, fraction):
            report(stage, fraction)
            if stage == APPLYING and not ended:
                ended.append(_end_the_import(url))
        return progress

    monkeypatch.setattr(cli, "progress_printer", cut_at_the_write)
    code, out, err = hatang(capsys, "import-xlsx", url, book)
    assert ended == [1]
    assert code == 2 and out == ""
    [line] = [ln for ln in err.splitlines() if ln.startswith("hatang:")]
    assert "Traceback" not in err and line == err.strip().splitlines()[-1]
    assert "mất kết nối" in line and "connection was lost" in line and "nothing was written" in line
    assert "postgresql://" in line and _state(url) == before

    monkeypatch.setattr(cli, "progress_printer", printer)
    done = hatang_json(capsys, "import-xlsx", url, book)
    assert done["applied"] and done["updated"] == 1 and done["backup"] is None
    assert rows(url, "SELECT name FROM sites WHERE uuid = :u", u=uuid) == [("Tên sau khi nhập",)]
