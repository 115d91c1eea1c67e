"""Find sites, poles, fibre routes and communes by code or name, the way people type them.

"dong dang" finds "Đồng Đăng", "mbf_18073" finds "MBF_18073_0001". Matching is on `text.fold()`
keys: on SQLite a `hatang_fold` SQL function is registered on the connection, so SQLite filters
rows and only the hits come back to Python; on PostgreSQL the same key is spelled in SQL
(`fold_sql`: the fold table as one translate()). Codes are ASCII, so they are matched with LIKE
on their lower case and never pay for a Python call per row: at national scale there are half
a million poles.
"""

from __future__ import annotations

from dataclasses import dataclass

from .geo.projection import lonlat_to_mercator
from .storage.database import Database
from .storage.dialect import SQLITE, Raw, raw
from .text import _TABLE, fold

DEFAULT_LIMIT = 50
MIN_QUERY_LENGTH = 2  # one letter matches half the province: not a search anyone means


@dataclass(frozen=True)
class SearchHit:
    table: str  # sites | poles | fibre_routes | admin_units
    uuid: str
    code: str
    name: str
    x: float  # EPSG:3857 metres: where to zoom
    y: float
    rank: int  # 0 exact, 1 starts with the query, 2 contains it


def _like_pattern(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# (table, code column, name column or None, SQL for a point to zoom to, extra WHERE)
_SOURCES = (
    ("sites", "t.site_code", "t.name", "t.lon, t.lat", ""),
    ("fibre_routes", "t.code", None, "(t.min_lon + t.max_lon) / 2, (t.min_lat + t.max_lat) / 2", ""),
    ("poles", "t.code", None, "t.lon, t.lat", ""),
    ("admin_units", "t.code", "t.name", "t.centre_lon, t.centre_lat",
     " AND t.level IN ('commune', 'village') AND t.centre_lat IS NOT NULL"),
)


def _translate_args() -> tuple[str, str]:
    """The fold table as translate()'s (from, to): one-for-one characters, then those dropped
    (marks). A character folding to two (rare in names: "ß") keeps its case-folded self."""
    pairs = [(chr(k), v) for k, v in sorted(_TABLE.items()) if len(v) == 1]
    dropped = [chr(k) for k, v in sorted(_TABLE.items()) if v == ""]
    return "".join(k for k, _ in pairs) + "".join(dropped), "".join(v for _, v in pairs)


_FOLD_FROM, _FOLD_TO = _translate_args()


def fold_sql(conn: Raw, expr: str) -> tuple[str, tuple]:
    """(SQL for fold(expr), its parameters) on `conn`'s engine."""
    if conn.dialect == SQLITE:
        conn.driver.create_function("hatang_fold", 1, fold, deterministic=True)  # sqlite-only: a Python SQL function
        return f"hatang_fold({expr})", ()
    return (r"btrim(regexp_replace(regexp_replace(lower(translate(coalesce(" + expr + "::text, ''), ?, ?)), "
            r"'\s*-\s*', ' - ', 'g'), '\s+', ' ', 'g'))", (_FOLD_FROM, _FOLD_TO))


def _rank(code_key: str, name_key: str, code: str, name: str) -> int:
    pairs = [(code_key, code.casefold())] + ([(name_key, fold(name))] if name else [])
    if any(k == v for k, v in pairs):
        return 0
    if any(v.startswith(k) for k, v in pairs):
        return 1
    return 2


def search(db: Database, query: str, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
    """Live records whose code or name contains `query` (diacritics- and case-insensitive).

    Exact matches first, then those starting with the query, then the rest; sites before routes
    before poles before places at the same rank.
    """
    # Codes keep their punctuation ("VT-TR-18073"): fold() would space out the hyphens.
    code_key, name_key = query.strip().casefold(), fold(query)
    if len(name_key) < MIN_QUERY_LENGTH:
        return []
    code_pattern, name_pattern = _like_pattern(code_key), _like_pattern(name_key)
    hits: list[SearchHit] = []
    with db.session() as s:
        conn = raw(s)
        for order, (table, code_col, name_col, point_sql, extra) in enumerate(_SOURCES):
            # SQLite's LIKE ignores ASCII case, PostgreSQL's does not: lower() on both.
            match = f"lower({code_col}) LIKE ? ESCAPE '\\'"
            params: list = [code_pattern]
            if name_col:
                # The cheap LIKE cannot see through diacritics; only rows that fail it pay for
                # the fold.
                folded, fold_params = fold_sql(conn, name_col)
                match = f"({match} OR {folded} LIKE ? ESCAPE '\\')"
                params += [*fold_params, name_pattern]
            name_sql = name_col or "''"
            # Enough rows per table to rank within it; the overall limit is applied after.
            rows = conn.execute(
                f"SELECT t.uuid, {code_col}, coalesce({name_sql}, ''), {point_sql} FROM {table} t "
                f"WHERE t.deleted = 0 AND {match}{extra} LIMIT ?", (*params, limit * 4)).fetchall()
            for uuid, code, name, lon, lat in rows:
                if lon is None or lat is None:
                    continue
                x, y = lonlat_to_mercator(lon, lat)
                hits.append(SearchHit(table, uuid, code, name, float(x), float(y), _rank(code_key, name_key, code, name)))
            hits.sort(key=lambda h: h.rank)
            if sum(h.rank == 0 for h in hits) >= limit:
                break
    order = {source[0]: i for i, source in enumerate(_SOURCES)}
    hits.sort(key=lambda h: (h.rank, order[h.table], fold(h.name or h.code)))
    return hits[:limit]
