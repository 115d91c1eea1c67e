"""The shared core's SQL must run on SQLite and on PostgreSQL (issue 19).

SQLite-only constructs are allowed in the storage layer that builds SQLite files, in
core/storage/dialect.py (which is where an engine-specific bit goes) and on lines marked
`# sqlite-only: <why>`; anywhere else in hatang_desktop/core they are listed as file:line.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import hatang_desktop

CORE = Path(hatang_desktop.__file__).parent / "core"
EXEMPT = {"storage/database.py", "storage/migrations.py", "storage/triggers.py", "storage/files.py",
          "storage/dialect.py", "mbtiles.py"}
EXEMPT_DIRS = ("sample/", "server/")
MARK = "# sqlite-only"

# (what is wrong, pattern over one line of code with its comment removed)
FORBIDDEN = [
    ("`IS NOT` between values (use IS DISTINCT FROM)", re.compile(r"\bIS NOT\b(?!\s+(NULL|DISTINCT)\b)")),
    ("`IS` between values (use IS NOT DISTINCT FROM)", re.compile(r"\bIS\b(?!\s+(NULL|NOT|DISTINCT)\b)(?=\s+[:?\w(])")),
    ("last_insert_rowid()", re.compile(r"last_insert_rowid", re.I)),
    ("sqlite_master", re.compile(r"sqlite_(master|schema)", re.I)),
    ("PRAGMA", re.compile(r"\bPRAGMA\b", re.I)),
    ("group_concat (dialect.text_agg)", re.compile(r"\bgroup_concat\b", re.I)),
    ("julianday", re.compile(r"\bjulianday\b", re.I)),
    ("json_* SQL function", re.compile(r"\bjson_(each|object|extract|array|group_array|group_object)\s*\(", re.I)),
    ("driver_connection (use dialect.raw)", re.compile(r"\bdriver_connection\b")),
]
# An INSERT into operations or change_log naming the column `user` unquoted (reserved on PostgreSQL).
_LOG_INSERT = re.compile(r"INSERT\s+INTO\s+(operations|change_log)\s*\(([^)]*)\)", re.I | re.S)


def _code_lines(source: str) -> dict[int, str]:
    """Line number -> the line without its comment; lines marked sqlite-only are left out."""
    lines = source.splitlines()
    cut: dict[int, int] = {}
    marked: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            cut[tok.start[0]] = tok.start[1]
            if tok.string.startswith(MARK):
                marked.add(tok.start[0])
    return {n: line[:cut.get(n, len(line))] for n, line in enumerate(lines, 1) if n not in marked}


def offenders(root: Path = CORE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in EXEMPT or rel.startswith(EXEMPT_DIRS):
            continue
        source = path.read_text(encoding="utf-8")
        lines = _code_lines(source)
        for n, line in lines.items():
            for what, pattern in FORBIDDEN:
                if pattern.search(line):
                    found.append(f"{rel}:{n}: {what}: {line.strip()}")
        for m in _LOG_INSERT.finditer(source):
            if re.search(r'(?<!")\buser\b(?!")', m.group(2)):
                n = source.count("\n", 0, m.start()) + 1
                if n in lines:
                    found.append(f"{rel}:{n}: unquoted column user in INSERT INTO {m.group(1)} (write \"user\")")
    return found


def test_core_sql_is_engine_neutral():
    found = offenders()
    assert not found, "SQLite-only SQL in shared core code:\n" + "\n".join(found)


def test_the_scan_sees_each_construct(tmp_path):
    """The scan itself finds what it forbids (and not what is allowed), so a green run means something."""
    (tmp_path / "bad.py").write_text(
        'A = "SELECT 1 FROM t WHERE a IS NOT :b"\n'
        'B = "SELECT 1 FROM t WHERE a IS :b"\n'
        'C = "SELECT last_insert_rowid()"\n'
        'D = "SELECT name FROM sqlite_master"\n'
        'E = "PRAGMA user_version"\n'
        'F = "SELECT group_concat(x) FROM t"\n'
        'G = "SELECT julianday(x)"\n'
        'H = "SELECT value FROM json_each(?)"\n'
        'conn = s.connection().connection.driver_connection\n'
        'I = ("INSERT INTO operations(started_at, user, source) "\n'
        '     "VALUES (1, 2, 3)")\n', encoding="utf-8")
    (tmp_path / "good.py").write_text(
        'A = "SELECT 1 FROM t WHERE a IS NOT NULL AND b IS NULL AND c IS DISTINCT FROM :d"\n'
        'B = "SELECT 1 FROM t WHERE a IS NOT DISTINCT FROM :b"\n'
        'C = \'INSERT INTO operations(started_at, "user", source) VALUES (1, 2, 3)\'\n'
        'D = "PRAGMA table_info(t)"  # sqlite-only: the SQLite file layout\n'
        'x = 1  # PRAGMA in a comment is no SQL\n', encoding="utf-8")
    found = offenders(tmp_path)
    assert {f.split(":")[0] for f in found} == {"bad.py"}
    assert sorted(int(f.split(":")[1]) for f in found) == list(range(1, 11))
