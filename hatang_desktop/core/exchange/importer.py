"""Import a workbook: read its sheets into records, validate everything first, then feed the
merge (merge.py: match, three-way merge by UUID, one transaction).

What is a workbook's own: the `_meta` and `_base` sheets (format and schema versions, the
province, each record's version and fingerprints at export), rows that come back untouched (set
aside unparsed), hand-typed lists whose header is guessed, and the sync package's photos.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ..cancel import Cancel, checkpoint
from ..errors import InvalidInputError
from ..perf import gc_paused
from ..field_values import NotAValue
from ..forms import Forms, load_forms
from ..storage.database import Database
from ..text import fold
from ..storage.dialect import raw
from .export import _mark, province_communes
from .layout import (BASE_FIELDS, BASE_SHEET, COMMUNE_SUMMARY_SHEET, FORMAT_VERSION, META_SHEET, SUMMARY_SHEET,
                     workbook_layout)
from .merge import (ImportResult, RecordPlan, UntouchedRow, _as_int, plan_import, run_import, unchanged_rows,
                    write_settled)
from .records import read_states
from .merge_checks import check_duplicates, check_parents, check_unique, complete_inserts, drop_implied_rows
from .commune_fill import fill_communes
from .merge_write import HeldTransaction
from .photo_sheet import PHOTO_SHEET
from .handtyped import (apply_mapping, guess_header, hand_typed_specs, match_existing, position_reader,
                        split_tenants)
from .problems import ImportRefused, Problem
from .workbook_rows import WorkbookRow, match_columns, parse_sheet
from .export_parallel import ForkedJob, WorkerFailed, fork_allowed, split
from .export_rows import local_state_hashes
from .row_fingerprint import fingerprints
from .xlsx_reader import clean_row, clean_rows, read_sheets, sheet_names, sheet_sizes

Progress = Callable[[str, float], None]
FORK_READ_BYTES = 20_000_000   # sheet XML below which a worker costs about what it saves
# A `_base` sheet is only read (one text cell a row), a data sheet read, parsed and compared with
# the database: a byte of the first weighs this much of one of the second in the worker's share
# (Hà Tĩnh sample, every row parsed: this process waited 0.13-0.22 s for the worker at 0.3,
# 0.35-0.50 s at 1).
BASE_BYTE_COST = 0.3
# The name the workbook's callers know the merge's refusal by (package.InvalidPackageError extends it).
InvalidWorkbookError = ImportRefused


def _meta(sheets: dict[str, list[list]]) -> dict[str, Any]:
    rows = sheets.get(META_SHEET) or []
    return {str(r[0]): r[1] for r in rows[1:] if r and r[0] not in (None, "")}


def _base(sheets: dict[str, list[list]]) -> dict[str, tuple]:
    """uuid -> (version at export, version last received, state fingerprint, row fingerprint);
    the versions as the cell gives them (`_as_int` reads them where needed: most rows come back
    untouched and never need them).

    A `_base` row is one cell, "uuid|version|received|state hash|row hash" (BASE_FIELDS); the
    first workbooks had them in six cells (record, uuid, version, received, state, row)."""
    out = {}
    for name, cells in sheets.items():
        if not _is_base(name) or not cells:
            continue
        if cells[0] and cells[0][0] == BASE_FIELDS:
            split = [r[0].split("|") for r in cells[1:] if r and type(r[0]) is str]
            out.update((p[0], (p[1] or None, p[2] or None, p[3] or None, p[4] or None))
                       for p in split if len(p) == 5 and p[0])
            continue
        for r in cells[1:]:  # the first format; raw cells: "" for an empty one
            if len(r) >= 5 and r[1] and r[2] not in (None, ""):
                out[str(r[1])] = (r[2], r[3] if r[3] not in (None, "") else None, r[4] or None,
                                  (r[5] or None) if len(r) >= 6 else None)
    return out


def _check_versions(path: Path, meta: dict) -> None:
    """Refuse a workbook made by a newer program: a newer workbook format, or a database schema
    newer than this program knows (its columns and values may mean what this one cannot tell)."""
    from ..storage.migrations import current_version

    for key, ours, what in (("format_version", FORMAT_VERSION, "định dạng sổ / workbook format"),
                            ("schema_version", current_version(), "lược đồ cơ sở dữ liệu / database schema")):
        raw = meta.get(key)
        if raw in (None, ""):
            continue
        version = _as_int(raw)
        if version is None or version < 1:
            raise InvalidInputError(f"{path}: trang '{META_SHEET}', dòng '{key}': phiên bản '{raw}' không đọc "
                                    f"được / unreadable version; không thay đổi gì / nothing was changed")
        if version > ours:
            raise InvalidInputError(f"{path}: trang '{META_SHEET}', dòng '{key}': sổ được tạo bởi phiên bản mới "
                                    f"hơn ({what} {version}, chương trình này hỗ trợ đến {ours}); hãy cập nhật "
                                    "Hạ tầng Desktop, không thay đổi gì / the workbook comes from a newer "
                                    "version; update the app, nothing was changed")


def _is_base(name: str) -> bool:
    """`_base_<record>` (and `_base_<record>_2`...) sheets; the first workbooks had `_base`, `_base_2`."""
    return name == BASE_SHEET or name.startswith(BASE_SHEET + "_")


def _set_aside_untouched(name: str, cells: list[list], spec, base_info: dict, untouched: list,
                         local_agrees: Callable[[str, list[str]], set[str]] | None = None) -> list[list]:
    """Rows whose fingerprint matches the export's are set aside (an empty row left in their
    place keeps the row numbers of the others); the rest are cleaned for parsing.

    An untouched row carries no change against the state it was exported from. In the database
    that exported it, that is the end of it. Anywhere else it is unchanged only where this
    database holds that same state (`local_agrees(record, uuids)` gives the uuids whose local
    state hash is the exported one); the other rows carry the exporter's changes and are parsed."""
    header = clean_row(cells[0])
    mapping, _unknown = match_columns(header, spec)
    col = next((i for i, c in mapping.items() if c.key == "uuid"), None)
    body = cells[1:]
    width = max(map(len, body), default=0)
    if any(len(r) != width for r in body):
        body = [list(r) + [""] * (width - len(r)) for r in body]
    # Fingerprints of the whole sheet at once, column by column (see row_fingerprint).
    prints = fingerprints(list(zip(*body))) if width else [""] * len(body)
    uuids = [r[col] for r in body] if col is not None and col < width else [None] * len(body)
    get = base_info.get
    # The fast test first: an untouched row's uuid cell is exactly what was written.
    entries = [get(u) if type(u) is str else None for u in uuids]
    matched = {i: uuids[i] for i, (e, fp) in enumerate(zip(entries, prints)) if e is not None and e[3] == fp}
    for i, (e, u) in enumerate(zip(entries, uuids)):
        if e is None and isinstance(u, str) and u:   # spaces or capitals typed around a uuid
            e = get(u.strip().lower())
            if e is not None and e[3] == prints[i]:
                matched[i] = u.strip().lower()
    for i in [i for i in matched if any(type(v) is NotAValue for v in body[i])]:
        del matched[i]  # an error cell where the export had an empty one: parsed, and named
    if local_agrees is not None and matched:
        agree = local_agrees(spec.record, list(matched.values()))
        matched = {i: u for i, u in matched.items() if u in agree}
    untouched.extend(UntouchedRow(spec.record, matched[i], i + 2, name) for i in sorted(matched))
    return [header] + [[] if i in matched else clean_row(raw) for i, raw in enumerate(cells[1:])]


def _local_agreement(db: Database, forms: Forms, base_info: dict[str, tuple]):
    """`local_agrees` for _set_aside_untouched: uuids whose state here hashes to the state hash
    the workbook's `_base` recorded at export."""
    def agrees(record: str, uuids: list[str]) -> set[str]:
        with db.session() as s:
            conn = raw(s)
            local = local_state_hashes(conn, forms[record], uuids)
        return {u for u in uuids if local.get(u) is not None and local[u] == base_info[u][2]}
    return agrees


def _worker_share(path: Path, rest: list[str], first: list[str]) -> list[str]:
    """The data sheets a forked worker reads, when they are large and this process may fork:
    about half of the work by sheet size (see export_parallel.split; this process also reads the
    sheets `first`), else none."""
    if not fork_allowed():
        return []
    sizes = sheet_sizes(path)
    if sum(sizes.get(n, 0) for n in rest) < FORK_READ_BYTES:
        return []
    share = split({n: sizes.get(n, 0) for n in rest}, parent_extra=BASE_BYTE_COST * sum(sizes.get(n, 0) for n in first))
    # Largest first: the worker sends each sheet when it is ready, and what this process still
    # has to do once the worker is done is the last (smallest) sheet.
    return sorted(share, key=lambda n: -sizes.get(n, 0))


def _prepare_each(path: Path, which: list[str], by_name: dict, trusted: tuple[dict, bool] | None,
                  db_path: Path | None, forms: Forms, communes: dict[str, str] | None, emit: Callable) -> None:
    """In a forked worker: `_prepare` sheet by sheet, each emitted (name, prepared) when ready;
    with `communes`, rows equal to their local record are set aside too (`_set_aside_equal`)."""
    for name in which:
        emit((name, _prepare(path, [name], by_name, None, trusted, db_path, forms, communes)[name]))


def read_workbook(db: Database, path: Path, forms: Forms, *, trust_untouched: bool = True,
                  mapping: dict[str, dict[str, str | None]] | None = None, compare: bool = True,
                  ) -> tuple[list[WorkbookRow], list[Problem], dict, dict]:
    """Rows, problems, metadata and base of a workbook. With `trust_untouched`, rows that come
    back cell for cell as exported, from this database or from one that held the same state of
    the record, are not parsed: they are listed in meta["_untouched"] and count as unchanged. `mapping` corrects how a
    hand-typed sheet's columns were understood: {sheet: {header as written: column key, or None
    to ignore the column}}.

    With `compare` (a database file, not the department's server), the rows parsed that are
    equal to their local record are set aside too, marked with the state they were compared
    with (`_equal_to_local`): the merge would find them unchanged, and this does its comparison
    before it takes the write lock, where the work can be shared.

    Reading dominates a large import: in a process without threads a forked worker reads (and
    compares, or cleans) about half of the data sheets while this process reads, parses and
    compares its own (see export_parallel); the result is the same as one process's, sheet for
    sheet."""
    names = sheet_names(path)
    first = [n for n in names if fold(n) == fold(META_SHEET) or _is_base(n)]
    skip = {fold(META_SHEET), fold(BASE_SHEET), fold(SUMMARY_SHEET["vi"]), fold(SUMMARY_SHEET["en"]), fold("_lists"),
            *(fold(n) for n in COMMUNE_SUMMARY_SHEET.values()),
            fold(PHOTO_SHEET.vi), fold(PHOTO_SHEET.en)}  # the photo sheet: read by a package import only
    rest = [n for n in names if n not in first and fold(n) not in skip]
    with db.session() as s:
        communes = province_communes(s)
        db_meta = dict(s.execute(text("SELECT key, value FROM meta")).all())
    layout = workbook_layout(forms, communes)
    by_name = {}
    for spec in layout:
        by_name[fold(spec.name("vi"))] = spec
        by_name[fold(spec.name("en"))] = spec
    # Trusted, the base is read before the worker starts (it says which rows are untouched), and
    # the worker compares rows with the database by its file (none for the department's server).
    # Every row parsed, this process reads the base beside its own sheets, parses and compares
    # them while the worker does the same with its share, then parses what the worker sends.
    db_path = getattr(db, "path", None)
    if db_path is None:
        theirs = []
    else:
        theirs = _worker_share(path, rest, [] if trust_untouched else first)
    # Rows equal to their local record are found before the merge (_equal_to_local), by each
    # process for the sheets it reads; not on the department's server (its merge compares them).
    compared = communes if compare and db_path is not None else None
    mine = [n for n in rest if n not in theirs]
    job = None
    try:
        read_early: dict[str, list[list]] | None = None
        if trust_untouched:   # the base is needed before the data sheets: it says which rows to set aside
            sheets = read_sheets(path, clean=False, names=first)
        else:
            # Every row is parsed: the data sheets are read in the same pass as the base (which
            # read_sheets reads in a second thread meanwhile); the worker's need no base.
            if theirs:
                job = ForkedJob(functools.partial(_prepare_each, path, theirs, by_name, None, db_path, forms,
                                                  compared), streamed=True)
            read_early = read_sheets(path, clean=False, names=first + mine, mark_no_value=True)
            sheets = {n: read_early.pop(n) for n in first}
        for name in sheets:
            if fold(name) == fold(META_SHEET):
                sheets[name] = [clean_row(r) for r in sheets[name]]
        problems: list[Problem] = []
        meta = _meta(sheets)
        base_info = _base(sheets)
        same_database = bool(meta.get("database_id")) and str(meta.get("database_id")) == db_meta.get("database_id")
        _check_versions(path, meta)
        theirs_prov, ours = str(meta.get("province_code") or ""), db_meta.get("province_code", "")
        if theirs_prov and ours and ours != "VN" and theirs_prov not in (ours, "VN"):
            raise InvalidInputError(f"{path}: sổ của tỉnh khác ({theirs_prov} {meta.get('province_name', '')}), "
                                    f"cơ sở dữ liệu này của {ours} {db_meta.get('province_name', '')} / "
                                    "the workbook belongs to another province")
        hand_specs = hand_typed_specs(layout, forms)
        trusted = (base_info, same_database) if trust_untouched else None
        if trust_untouched and theirs:
            job = ForkedJob(functools.partial(_prepare_each, path, theirs, by_name, trusted, db_path, forms,
                                              compared), streamed=True)
        sheet = functools.partial(_sheet_rows, db_meta=db_meta, by_name=by_name, forms=forms, communes=communes,
                                  hand_specs=hand_specs, mapping=mapping)
        pieces = {name: sheet(name, *got) for name, got in
                  _prepare(path, mine, by_name, read_early, trusted, db, forms).items()}
        if compared is not None:
            _set_aside_parsed(pieces, mine, by_name, db)
        if job is not None:
            try:
                for name, got in job.stream():   # each sheet parsed here while the worker reads the next
                    pieces[name] = sheet(name, *got)
            except WorkerFailed:
                left = [n for n in theirs if n not in pieces]
                pieces.update((name, sheet(name, *got)) for name, got in
                              _prepare(path, left, by_name, None, trusted, db, forms).items())
            job = None
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    again = _sheets_with_a_second_row(pieces, rest)
    if again:   # a row set aside as equal, its record on another row too: read so that the merge names it
        pieces.update((name, sheet(name, *got)) for name, got in
                      _prepare(path, again, by_name, None, trusted, db, forms).items())
    rows: list[WorkbookRow] = []
    understood: list[dict] = []
    warnings: list[str] = []
    untouched: list[UntouchedRow] = []
    for name in rest:   # in the workbook's order, whichever process read the sheet
        if name not in pieces:
            continue
        piece = pieces[name]
        rows += piece.rows
        untouched += piece.untouched
        problems += piece.problems
        warnings += piece.warnings
        if piece.understood is not None:
            understood.append(piece.understood)
    meta["_understood"] = understood
    meta["_untouched"] = untouched
    meta["_warnings"] = warnings
    return rows, problems, meta, base_info


def _sheets_with_a_second_row(pieces: dict, names: list[str]) -> list[str]:
    """The sheets where a row equal to its record was set aside (`seen_at`) that another row of
    the workbook also stands for (a sheet compares only its own rows): read again here without
    the comparison, so that the duplicate is named as the merge names it (the later row)."""
    count: dict[str, int] = {}
    for piece in pieces.values():
        for r in [*piece.rows, *piece.untouched]:
            count[r.uuid] = count.get(r.uuid, 0) + 1
    return [n for n in names if n in pieces
            and any(u.seen_at is not None and count[u.uuid] > 1 for u in pieces[n].untouched)]


def _prepare(path: Path, which: list[str], by_name: dict, read: dict[str, list[list]] | None,
             trusted: tuple[dict, bool] | None, db, forms: Forms,
             communes: dict[str, str] | None = None) -> dict[str, tuple[list[list], list | None]]:
    """These sheets, read (or taken from `read`): a sheet of ours is cleaned, and with `trusted`
    (the base, and whether the workbook comes from this database) its untouched rows are set
    aside; another sheet is left as read (cells, None). `db` is a database file's path in a forked
    worker (opened here, read-only), else the database (a local one or the department's server).
    With `communes` (in a forked worker), the rows left are parsed and those equal to their
    local record set aside as well (`_set_aside_equal`)."""
    if read is None:
        read = read_sheets(path, clean=False, names=which, mark_no_value=True) if which else {}
    out = {}
    with contextlib.ExitStack() as stack:
        for name in which:
            cells = read[name]
            spec = by_name.get(fold(name))
            if cells and spec is not None and any(fold(str(h or "")).startswith("uuid") for h in cells[0]):
                if isinstance(db, (str, Path)) and (communes is not None or (trusted and not trusted[1])):
                    db = stack.enter_context(Database.open(db, readonly=True))
                aside: list[UntouchedRow] = []
                if trusted is None or not trusted[0]:   # no base (a workbook that lost it): nothing is untouched
                    cells = clean_rows(cells)
                else:
                    base_info, same_database = trusted
                    agrees = None if same_database else _local_agreement(db, forms, base_info)
                    cells = _set_aside_untouched(name, cells, spec, base_info, aside, agrees)
                if communes is not None:
                    cells = _set_aside_equal(name, cells, spec, forms, communes, db, aside)
                out[name] = (cells, aside)
            else:
                out[name] = (cells, None)
    return out


def _set_aside_equal(name: str, cells: list[list], spec, forms: Forms, communes: dict[str, str], db: Database,
                     aside: list[UntouchedRow]) -> list[list]:
    """In a reading worker: parse the sheet's cleaned rows and set aside (an empty row in their
    place, as `_set_aside_untouched` leaves) those equal to their local record (`_equal_to_local`),
    so that this process sends only the others. A sheet with any problem or warning is left whole:
    the other process parses it and says them, in order."""
    problems: list[Problem] = []
    warnings: list[str] = []
    rows = parse_sheet(name, cells, spec, forms, communes, problems, warnings=warnings)
    if problems or warnings or not rows:
        return cells
    with db.session() as s:   # one snapshot: the states and their mark
        mark = _mark(s)
        same = _equal_to_local(rows, spec.form, s)
    if not same:
        return cells
    out = list(cells)
    for r in rows:
        if r.uuid in same:
            out[r.row - 1] = []
            aside.append(UntouchedRow(spec.record, r.uuid, r.row, name, seen_at=mark))
    aside.sort(key=lambda u: u.row)
    return out


def _set_aside_parsed(pieces: dict[str, "_SheetPiece"], names: list[str], by_name: dict, db: Database) -> None:
    """In this process, the sheets of ours it parsed: their rows equal to the local record
    (`_equal_to_local`) are moved to the untouched ones, in one snapshot of the database."""
    own = [n for n in names if pieces[n].rows and not pieces[n].problems and not pieces[n].warnings
           and pieces[n].understood is None]
    if not own:
        return
    with db.session() as s:
        mark = _mark(s)
        for name in own:
            piece, spec = pieces[name], by_name[fold(name)]
            same = _equal_to_local(piece.rows, spec.form, s)
            if not same:
                continue
            piece.untouched = sorted([*piece.untouched, *(UntouchedRow(spec.record, r.uuid, r.row, name, seen_at=mark)
                                                          for r in piece.rows if r.uuid in same)],
                                     key=lambda u: u.row)
            piece.rows = [r for r in piece.rows if r.uuid not in same]


def _equal_to_local(rows: list[WorkbookRow], form, s) -> set[str]:
    """The uuids of the rows the merge would find equal to their local record field for field
    (`merge.unchanged_rows`: unchanged whatever their base, nothing to merge), among the rows
    of one record type with a version, no note, and whose record no other row of the sheet
    stands for.
    Compared before the merge takes its write lock, they are marked with the change log's last
    id then; the merge reads the workbook again if one of those records changed since
    (`_still_equal`). The comparison is what the planning would do for them, done beforehand
    (by the reading worker for its sheets, beside this process's work)."""
    seen: dict[str, int] = {}
    for r in rows:
        seen[r.uuid] = seen.get(r.uuid, 0) + 1
    # A row without a version (blanked, or typed in by hand) stays: the import shows how it matched.
    candidates = [r for r in rows if r.matched_by == "uuid" and seen[r.uuid] == 1 and r.version is not None
                  and not r.extra.get("notes")]
    if not candidates:
        return set()
    return unchanged_rows(candidates, read_states(s, form, uuids=[r.uuid for r in candidates]))


def _still_equal(here, untouched: list[UntouchedRow]) -> bool:
    """Whether no record found equal to its row before the merge (`seen_at`) has changed since
    (the change log after the earliest mark names none of them). `here` is the database or the
    write transaction the merge plans in."""
    compared = {u.uuid: u.seen_at for u in untouched if u.seen_at is not None}
    if not compared:
        return True
    with here.session() as s:
        since = s.execute(text("SELECT id, record_uuid FROM change_log WHERE id > :m"),
                          {"m": min(compared.values())}).all()
    return not any(u in compared and i > compared[u] for i, u in since)


@dataclass
class _SheetPiece:
    rows: list[WorkbookRow]
    untouched: list[UntouchedRow]
    problems: list[Problem]
    warnings: list[str]
    understood: dict | None


def _sheet_rows(name: str, cells: list[list], aside: list | None, *, db_meta: dict, by_name: dict, forms: Forms,
                communes: dict[str, str], hand_specs, mapping) -> _SheetPiece:
    """One prepared sheet parsed: a sheet of ours by its own columns, another by the header guessed."""
    problems: list[Problem] = []
    warnings: list[str] = []
    if not cells:
        return _SheetPiece([], [], problems, warnings, None)
    if aside is not None:
        return _SheetPiece(parse_sheet(name, cells, by_name[fold(name)], forms, communes, problems, warnings=warnings),
                           aside, problems, warnings, None)
    cells = [clean_row(r) for r in cells]
    guess = guess_header(cells, hand_specs)
    if guess is None:
        return _SheetPiece([], [], problems, warnings, {"sheet": name, "record": None, "columns": {}, "unknown": []})
    if mapping and name in mapping:
        apply_mapping(guess, mapping[name])
    parsed = parse_sheet(name, cells, guess.spec, forms, communes, problems,
                         header_row=guess.header_row, mapping=guess.mapping, headers=guess.headers,
                         position=position_reader(db_meta.get("province_code", "")),
                         warnings=warnings, unknown=guess.unknown)
    return _SheetPiece(split_tenants(parsed), [], problems, warnings,
                       {"sheet": name, "record": guess.spec.record, "header_row": guess.header_row + 1,
                        "columns": {guess.headers[j]: c.header("vi") for j, c in sorted(guess.mapping.items())},
                        "keys": {guess.headers[j]: guess.mapping[j].key if j in guess.mapping else None
                                 for j in sorted(guess.headers)},
                        "choices": [(c.key, c.header("vi")) for c in guess.spec.columns
                                    if c.kind in ("field", "deleted")],
                        "unknown": guess.unknown})


def import_workbook(db: Database, path: str | Path, *, dry_run: bool = False, forms: Forms | None = None,
                    user: str | None = None, progress: Progress | None = None,
                    trust_untouched: bool = True, mapping: dict[str, dict[str, str | None]] | None = None,
                    extra=None, cancel: Cancel | None = None) -> ImportResult:
    """Read a workbook and feed it to the merge (merge.run_import). `trust_untouched=False`
    parses every row even when the workbook comes back unchanged from this database, and
    compares each with its local record (the benchmark uses it for the full path). `cancel()`
    true stops it (Cancelled), nothing written.

    `extra` (a sync package's photos, package.PackagePhotos) is planned after the records, under
    the same write lock (`extra.plan(here, result)`: may refuse with ImportRefused, sets
    `extra.changes`), and written in the same transaction after them (`extra.write(session)`)."""
    with gc_paused():
        return _import_workbook(db, Path(path), dry_run, forms or load_forms(), user,
                                progress or (lambda _s, _f: None), trust_untouched, mapping, extra, cancel)


def _import_workbook(db: Database, path: Path, dry_run: bool, forms: Forms, user: str | None, report: Progress,
                     trust_untouched: bool, mapping: dict[str, dict[str, str | None]] | None,
                     extra=None, cancel: Cancel | None = None) -> ImportResult:
    report("đọc sổ / reading", 0.05)
    rows, problems, meta, base_info = read_workbook(db, path, forms, trust_untouched=trust_untouched,
                                                    mapping=mapping)
    if problems:
        raise InvalidWorkbookError(path, problems)
    checkpoint(cancel)
    untouched = meta.get("_untouched", [])

    def planned(here) -> ImportResult:
        nonlocal rows, problems, meta, base_info, untouched
        report("lập kế hoạch / planning", 0.4)
        if not _still_equal(here, untouched):
            # A record found equal to its row has changed since: the merge compares every row.
            rows, problems, meta, base_info = read_workbook(db, path, forms, trust_untouched=trust_untouched,
                                                            mapping=mapping, compare=False)
            if problems:
                raise InvalidWorkbookError(path, problems)
            untouched = meta.get("_untouched", [])
        plans, counts = _checked_plan(here, path, rows, untouched, base_info, forms)
        with_plan = {p.row.uuid for p in plans}
        for r in untouched:
            if r.uuid not in with_plan:   # a sub-list row set aside may go with its deleted parent
                counts[r.record]["unchanged"] += 1
        result = ImportResult(counts, [], plans)
        result.understood = meta.get("_understood", [])
        result.warnings = meta.get("_warnings", []) + [n for r in rows for n in r.extra.get("notes", [])]
        if extra is not None:
            extra.plan(here, result)
            result.more_changes = bool(extra.changes)
        return result

    source = f"workbook:{path.name}"

    def write(s, result: ImportResult) -> None:
        write_settled(s, HeldTransaction(db, s), result, base_info, forms, source=source, origin=path.name,
                      origin_database_id=str(meta.get("database_id") or ""), cancel=cancel)
        if extra is not None:
            extra.write(s)

    # Imports of one commune's workbook queue on the server; a province's workbook (or one typed
    # by hand, without metadata) queues on the province.
    scope = str(meta.get("commune_code") or meta.get("province_code") or "")
    return run_import(db, path, kind="sheet", description=f"Nhập sổ Excel {path.name}", source=source,
                      plan=planned, write=write, dry_run=dry_run, user=user, report=report, cancel=cancel,
                      scope=scope)


def _checked_plan(here, path: Path, rows: list[WorkbookRow], untouched: list, base_info: dict,
                  forms: Forms) -> tuple[list[RecordPlan], dict]:
    """Match, check against the database and plan the merge; InvalidWorkbookError for any
    problem. `here` is the database, or the write transaction (HeldTransaction) it happens in."""
    problems: list[Problem] = []
    match_existing(here, rows)
    drop_implied_rows(rows, untouched)
    check_duplicates(rows, problems, untouched)
    if not problems:
        check_parents(here, rows, forms, problems, untouched)
    if problems:
        raise InvalidWorkbookError(path, problems)
    plans, counts = plan_import(here, rows, base_info, forms)
    fill_communes(here, plans, forms)
    problems = [Problem(p.row.extra.get("sheet", p.row.record), p.row.row, forms[p.row.record].field(k).label.vi,
                        None, "ô này không mang giá trị (quá dài khi xuất) mà bản ghi chưa có trong cơ sở dữ liệu / "
                        "this cell holds no value and the record is new")
                for p in plans if p.action == "insert" for k in p.row.extra.get("kept", ())]
    problems += complete_inserts(plans, forms)
    problems += check_unique(here, plans, forms)
    if problems:
        raise InvalidWorkbookError(path, problems)
    return plans, counts

