"""Search by code or name, diacritics-insensitive: what a commune official types."""

import sqlite3

import pytest
from sqlalchemy import text

from hatang_desktop.core.search import search
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.text import fold


@pytest.fixture
def db(sample_db_path):
    with Database.open(sample_db_path, readonly=True) as database:
        yield database


def _one(path, sql):
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchone()


def test_a_name_with_a_hyphen_is_found_however_the_hyphen_is_spaced(sample_db_path):
    # The SQL function and the query go through the same fold(): "Thành-Sen 1" typed as
    # "thanh - sen" or "THANH-SEN" is one key.
    uuid, name = _one(sample_db_path, "SELECT uuid, name FROM sites WHERE deleted = 0 AND name LIKE '% % %' "
                                      "ORDER BY id LIMIT 1")
    words = name.split(" ")
    hyphened = " ".join(words[:-2]) + f" {words[-2]}-{words[-1]}"
    with Database.open(sample_db_path) as db, db.operation("rename") as s:
        s.execute(text("UPDATE sites SET name = :n WHERE uuid = :u"), {"n": hyphened, "u": uuid})
    with Database.open(sample_db_path, readonly=True) as db:
        for typed in (f"{words[-2]} - {words[-1]}", f"{fold(words[-2])}-{fold(words[-1])}".upper()):
            assert uuid in [h.uuid for h in search(db, typed) if h.table == "sites"], typed
        assert uuid not in [h.uuid for h in search(db, f"{words[-2]} {words[-1]}") if h.table == "sites"]


def test_name_without_diacritics_finds_the_site(db, sample_db_path):
    uuid, name = _one(sample_db_path, "SELECT uuid, name FROM sites WHERE deleted = 0 AND name <> "
                                      "lower(name) ORDER BY id LIMIT 1 OFFSET 17")
    plain = fold(name)
    assert plain != name.lower()  # the query really has no diacritics
    hits = search(db, plain.upper())
    assert uuid in [h.uuid for h in hits if h.table == "sites"]
    best = next(h for h in hits if h.uuid == uuid)
    assert best.name == name and best.x and best.y


def test_codes_with_underscores_and_hyphens(db, sample_db_path):
    site_uuid, site_code = _one(sample_db_path, "SELECT uuid, site_code FROM sites LIMIT 1")
    pole_uuid, pole_code = _one(sample_db_path, "SELECT uuid, code FROM poles LIMIT 1")
    route_uuid, route_code = _one(sample_db_path, "SELECT uuid, code FROM fibre_routes LIMIT 1")
    for uuid, code in ((site_uuid, site_code), (pole_uuid, pole_code), (route_uuid, route_code)):
        hits = search(db, code.lower())
        assert hits[0].uuid == uuid and hits[0].rank == 0, code


def test_underscore_is_not_a_wildcard(db):
    assert search(db, "x_y_z_no_such_code") == []


def test_commune_by_plain_name(db, sample_db_path):
    code, name = _one(sample_db_path, "SELECT code, name FROM admin_units WHERE level = 'commune' LIMIT 1")
    hits = search(db, fold(name))
    assert any(h.table == "admin_units" and h.code == code for h in hits)


def test_short_or_empty_queries_return_nothing(db):
    assert search(db, "") == [] and search(db, " a ") == []


def test_limit_and_ranking(db):
    hits = search(db, "tram", limit=7)
    assert len(hits) == 7
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)


def test_the_server_fold_gives_fold_keys_for_names(sample_db_path):
    """PostgreSQL folds names with translate(), lower() and two regexp_replace() (search.fold_sql);
    the same steps done here in Python give fold()'s key for every name in the sample and for the
    awkward spellings people type."""
    import re

    from hatang_desktop.core.search import _FOLD_FROM, _FOLD_TO

    table = {ord(c): (_FOLD_TO[i] if i < len(_FOLD_TO) else None) for i, c in enumerate(_FOLD_FROM)}

    def server_fold(name: str) -> str:  # translate() drops the characters past the end of `to`
        key = name.translate(table).lower()
        return re.sub(r"\s+", " ", re.sub(r"\s*-\s*", " - ", key)).strip()

    with sqlite3.connect(sample_db_path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sites WHERE name IS NOT NULL UNION "
                                            "SELECT name FROM admin_units")]
    names += ["ĐỒNG  ĐĂNG", "Thành-Sen", "Kỳ Anh - Hà Tĩnh", "Nguyễn Thị Ánh Tuyết", "Sơn Tây’s"]
    assert len(names) > 50
    assert [server_fold(n) for n in names] == [fold(n) for n in names]
