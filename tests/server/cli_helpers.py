"""What the server tests share: running a `hatang` verb in this process, and reading what it wrote."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import openpyxl
from sqlalchemy import text

from hatang_desktop.cli.main import main as hatang_main
from hatang_desktop.core.storage.targets import open_database


def hatang(capsys, *argv) -> tuple[int, str, str]:
    """`hatang ARGV…` as a user types it: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = hatang_main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def hatang_json(capsys, *argv, expect: int = 0):
    code, out, err = hatang(capsys, *argv, "--json")
    assert code == expect, err
    return json.loads(out)


def file_copy(sample_db_path: Path, tmp_path: Path, name: str = "expected.db") -> Path:
    """Another copy of the sample file: what the same command does on a file, to compare with."""
    target = tmp_path / name
    shutil.copyfile(sample_db_path, target)
    return target


def sheets(path: Path, skip_meta: tuple[str, ...] = ("exported_at", "database_id")) -> dict[str, list[tuple]]:
    """Every sheet's rows as openpyxl reads them back (the _metadata rows that name the moment
    and the database left out)."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        rows = [tuple(_EXPORT_MINUTE.sub("<minute>", v) if isinstance(v, str) else v for v in r)
                for r in ws.iter_rows(values_only=True)]
        if ws.title == "_metadata":
            rows = [r for r in rows if r[0] not in skip_meta]
        out[ws.title] = rows
    return out


# The summary sheet's "Xuất ngày 07/12/2026 01:16" (summary_sheet.export_note): two exports a
# few seconds apart differ when a minute turns between them (seen in CI under load).
_EXPORT_MINUTE = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}")


def scalar(target, sql: str, **params):
    with open_database(target, readonly=True) as db, db.session() as s:
        return s.execute(text(sql), params).scalar()


def rows(target, sql: str, **params) -> list[tuple]:
    with open_database(target, readonly=True) as db, db.session() as s:
        return [tuple(r) for r in s.execute(text(sql), params).all()]


def first_site(target, commune: str | None = None) -> tuple[str, str, str]:
    """(uuid, name, commune) of the first live ground-tower site, in commune when given."""
    where = " AND commune_code = :c" if commune else ""
    with open_database(target, readonly=True) as db, db.session() as s:
        return tuple(s.execute(text(f"SELECT uuid, name, commune_code FROM sites WHERE deleted = 0 AND "
                                    f"tower_type = 'ground_tower'{where} ORDER BY id LIMIT 1"),
                               {"c": commune}).one())
