"""Online sync of a commune's file with the department's server: push, then pull, through the
one merge (exchange/merge.py), as a workbook import does.

PUSH. The file's operations after the last one the server acknowledged (file meta
`sync_pushed_operation`) name the records they touched; each is sent as its whole current state
(every field, its version) with candidate bases: the file's state just before its first
unacknowledged change (what the last sync left) and the last states it received from outside
(pulls, or a workbook from the department before the file ever synced), each as (version, hash
of that state). The server rebuilds its own state at each candidate version from its change log
and takes the newest one whose hash agrees as the three-way base (both sides held that state at
that version: after a sync they do, since a merged record takes the sender's version when it
ends exactly as the sender's state, and two sides that reach one state apart take one version
again); with none, every difference is a conflict rather than a guess. The merge runs on the
server in ONE transaction under `pg_advisory_xact_lock` on the commune (two pushes of one
commune queue, different communes run in parallel), with optimistic updates (`WHERE version =
<read in this transaction>`: a record an analyst wrote meanwhile is planned again, ending
applied or a conflict, never overwritten), and records each client operation in `sync_pushed`
in that same transaction. A push repeated or resumed after its commit (the acknowledgement
never reached the file) finds its operations recorded and sends nothing again. Conflicts the
server sees are stored in its `conflicts` table, their origin naming the file's database id and
commune.

(A "server version the file last received" alone, as `received_versions` gives for workbooks,
is not enough here: a record merged with a conflict, or pushed and not pulled back, has no such
version, and an unchecked one could name a state the server never had at that number. Every
base is therefore checked by its hash on the side that merges.)

PULL. In a REPEATABLE READ transaction the new cursor is `pg_snapshot_xmin(pg_current_snapshot())`
and the records of the commune whose change_log rows have `xid >= <old cursor>` are read (the
first sync reads every record of the commune the role can see). They are merged into the file
by the same merge, their candidate bases the server's state as of the old cursor and the base
the push just merged against (checked by the file the same way), and the new cursor, the
acknowledgement of the push and the server's id are stored in the file's meta in the SAME file
transaction, after the file's backup: a cut connection or a crash leaves the file as it was,
cursor included, and the next sync does it again. Conflicts the file sees are stored in its own
`conflicts` table (Tệp > Xung đột…).

Why a transaction id and not a serial or a time: a serial (change_log.id) or a timestamp is
taken when a row is WRITTEN, but the row becomes visible when its transaction COMMITS. A
transaction that wrote id 100 at 10:00 and commits at 10:05 is invisible to a pull at 10:01
that sees id 101 (written and committed by another transaction in between); a cursor "after
101" or "after 10:01" then skips 100 forever. `pg_snapshot_xmin` is the oldest transaction
still running when the snapshot was taken: every transaction below it has finished, so
everything the pull could not see has an xid at or above the new cursor, and the next pull
reads it once it has committed.

The price is that some records are delivered again (those of transactions at or above the
cursor that the pull did see). That is harmless: the merge is idempotent. A record that comes
again as the file already holds it plans as unchanged and writes nothing; a conflict already
stored and still open is not stored twice.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from ..cancel import Cancel, checkpoint
from ..changes import Changes
from ..errors import InvalidInputError
from ..exchange.merge import COUNT_KEYS, ImportResult, RecordPlan, plan_import, run_import, write_settled
from ..exchange.merge_write import HeldTransaction, write_plans
from ..exchange.records import read_states
from ..exchange.workbook_rows import WorkbookRow
from ..forms import Forms, load_forms
from ..storage.database import set_meta
from ..storage.dialect import in_values
from .sync_bases import NO_BASE, align, alignments, based_rows, chosen_bases

Progress = Callable[[str, float], None]

META_SERVER = "sync_server_id"           # the server's database_id: a file syncs with one server
META_PUSHED = "sync_pushed_operation"    # the last file operation the server acknowledged
META_CURSOR = "sync_cursor"              # pg_snapshot_xmin of the last pull (xid8, as text)
META_URL = "sync_server_url"             # the address last synced with (never a password)
LOCK_CLASS = 19                          # pg_advisory_xact_lock(LOCK_CLASS, hashtext(commune))
# What a commune reads when the server keeps writing its records (merge.write_settled).
SERVER_BUSY = ("máy chủ đang liên tục ghi các bản ghi này; không ghi gì, hãy đồng bộ lại sau",
               "the server keeps writing these records; nothing was written, sync again later")
RECEIVED_CANDIDATES = 3                  # how many of the last versions received from outside are offered as bases


def pull_source(server_id: str) -> str:
    """The source of the file's operations and records that came from the server."""
    return f"server:{server_id}"


def push_source(file_id: str) -> str:
    """The source of the server's operations and records that came from a commune's file."""
    return f"sync:{file_id}"


@dataclass
class SyncResult:
    pushed: dict[str, int]
    pulled: dict[str, int]
    pushed_operations: int = 0      # file operations the server recorded in this sync
    already_pushed: int = 0         # operations the server had already recorded (a resumed push)
    server_conflicts: int = 0       # open conflicts on the server that came from this file
    file_conflicts: int = 0         # open conflicts in the file
    changes: Changes = field(default_factory=Changes)   # what the pull wrote into the file
    backup: Path | None = None
    cursor: str = ""
    first: bool = False
    server: str = ""

    @property
    def conflicts_wait(self) -> bool:
        return bool(self.server_conflicts or self.file_conflicts)

    def as_json(self) -> dict:
        return {"pushed": self.pushed, "pulled": self.pulled, "pushed_operations": self.pushed_operations,
                "already_pushed": self.already_pushed, "server_conflicts": self.server_conflicts,
                "file_conflicts": self.file_conflicts, "backup": str(self.backup) if self.backup else None,
                "cursor": self.cursor, "first": self.first, "server": self.server}

    def lines(self) -> list[str]:
        """What `hatang sync` prints and the app's message shows."""
        def counts(c: dict[str, int]) -> str:
            return ", ".join(f"{k}: {v}" for k, v in c.items())
        out = [f"Máy chủ / server: {self.server}",
               f"Đã gửi / pushed: {counts(self.pushed)}",
               f"Đã nhận / pulled: {counts(self.pulled)}"]
        if self.already_pushed:
            out.append(f"  {self.already_pushed} thao tác đã gửi ở lần trước, không gửi lại / "
                       "operations already pushed before, not sent again")
        if self.conflicts_wait:
            out.append(f"Xung đột chờ xử lý / conflicts waiting: trên máy chủ / on the server {self.server_conflicts}, "
                       f"trong tệp / in the file {self.file_conflicts}")
        if self.backup:
            out.append(f"Bản sao lưu / backup: {self.backup}")
        return out


@dataclass
class _Context:
    file_id: str
    server_id: str
    commune: str
    commune_name: str
    file_path: Path
    server_name: str
    first: bool
    acked: int
    cursor: str | None


def _context(file_db, server_db) -> _Context:
    """The facts both steps need; refuses (InvalidInputError, exit 2) a file that is not a commune's,
    a server of another province, or a file that syncs with another server."""
    if getattr(file_db, "dialect", "sqlite") != "sqlite" or file_db.path is None:
        raise InvalidInputError("đồng bộ cần một tệp của xã / sync needs a commune's file")
    with file_db.session() as s:
        meta = dict(s.execute(text("SELECT key, value FROM meta")).all())
    with server_db.session() as s:
        server_meta = dict(s.execute(text("SELECT key, value FROM meta")).all())
    commune = meta.get("commune_code")
    if meta.get("scope") != "commune" or not commune:
        raise InvalidInputError(f"{file_db.path}: không phải tệp của một xã (tạo bằng `hatang init --commune`) / "
                                "not a commune's file (made by `hatang init --commune`)")
    server_id = server_meta.get("database_id") or ""
    if not server_id:
        raise InvalidInputError(f"{server_db.name}: không phải cơ sở dữ liệu Hạ tầng / not a Hạ tầng database")
    known = meta.get(META_SERVER)
    if known and known != server_id:
        raise InvalidInputError(
            f"{file_db.path}: tệp này đồng bộ với một máy chủ khác ({meta.get(META_URL) or known}), không phải "
            f"{server_db.name}; không gửi, không nhận gì / this file syncs with another server, not this one; "
            "nothing was sent or received")
    theirs, ours = server_meta.get("province_code", ""), meta.get("province_code", "")
    if theirs and ours and theirs != ours:
        raise InvalidInputError(f"{server_db.name}: máy chủ của tỉnh khác ({theirs}), tệp của tỉnh {ours} / "
                                "the server belongs to another province")
    return _Context(meta.get("database_id", ""), server_id, commune, meta.get("commune_name", commune),
                    Path(file_db.path), server_db.name, not known, int(meta.get(META_PUSHED) or 0),
                    meta.get(META_CURSOR))


# -- push ------------------------------------------------------------------------------------------


@dataclass
class _Outgoing:
    operations: list[int]                      # the file's operations to acknowledge
    marks: dict[int, str]                      # operation id -> operation_mark
    touched: dict[str, set[int]]               # record uuid -> the operations that touched it
    rows: list[WorkbookRow]
    candidates: dict[str, list[tuple[int, str]]]

    @property
    def last(self) -> int:
        return max(self.operations, default=0)


def _outgoing(file_db, ctx: _Context, forms: Forms) -> _Outgoing:
    """The file's records touched by its operations since the acknowledged one, but not those the
    pulls wrote (source server:<id>): they came from the server."""
    source = pull_source(ctx.server_id)
    with file_db.session() as s:
        marks = {i: operation_mark(started, description) for i, started, description in s.execute(text(
            "SELECT id, started_at, description FROM operations WHERE id > :a "
            "AND (source IS NULL OR source <> :src) ORDER BY id"), {"a": ctx.acked, "src": source})}
        operations = list(marks)
        log = s.execute(text(
            "SELECT c.id, c.table_name, c.record_uuid, c.operation_id FROM change_log c "
            "JOIN operations o ON o.id = c.operation_id "
            "WHERE c.operation_id > :a AND (o.source IS NULL OR o.source <> :src) ORDER BY c.id"),
            {"a": ctx.acked, "src": source}).all()
        first: dict[tuple[str, str], int] = {}
        touched: dict[str, set[int]] = {}
        records = set(_records(forms))
        for log_id, table, uuid, op in log:
            if table not in records:   # admin units and photos do not travel by sync
                continue
            first.setdefault((table, uuid), log_id)
            touched.setdefault(uuid, set()).add(op)
        states: dict[str, dict] = {}
        before: dict[str, dict[str, int]] = {}
        received: list[dict[str, dict[str, int]]] = [{} for _ in range(RECEIVED_CANDIDATES)]
        for record in _records(forms):
            uuids = [u for (t, u) in first if t == record]
            if not uuids:
                continue
            states[record] = read_states(s, forms[record], uuids=uuids)
            # Candidate bases: the version each record had just before its first unacknowledged
            # change (the state the last sync left), and the last versions it received from
            # outside, a pull or a workbook (a file that exchanged workbooks with the department
            # before it first synced; a pull that kept a conflicting field wrote a state the
            # server never had, the one before it is common to both).
            where, param = in_values("sqlite", "record_uuid", uuids, named="uuids")
            before[record] = {}
            came_in: dict[str, list[int]] = {}
            for log_id, uuid, version, came_from in s.execute(text(
                    f"SELECT c.id, c.record_uuid, c.version, o.source FROM change_log c "
                    f"LEFT JOIN operations o ON o.id = c.operation_id WHERE c.table_name = :t AND c.{where} "
                    "AND c.version IS NOT NULL ORDER BY c.id"), {"t": record, "uuids": param}):
                if log_id < first[(record, uuid)]:
                    before[record][uuid] = version
                if came_from == source or (came_from or "").startswith("workbook:"):
                    versions = came_in.setdefault(uuid, [])
                    if version not in versions:
                        versions.append(version)
            for k, by_record in enumerate(received):
                by_record[record] = {u: v[-1 - k] for u, v in came_in.items() if len(v) > k}
        rows, candidates = based_rows(s, forms, states, [before, *received])
    return _Outgoing(operations, marks, touched, rows, candidates)


def operation_mark(started_at, description) -> str:
    """What tells one file operation from another with the same id: a copy of a commune's file
    (another laptop, a restored backup) has the same database id, and its new operations reuse
    the ids the original's take too. Recognised by id alone, the copy's edits would be taken for
    the original's, already pushed, and never sent."""
    return hashlib.sha1(f"{started_at}|{description}".encode()).hexdigest()[:16]


def _records(forms: Forms) -> list[str]:
    from ..exchange.merge_write import WRITE_ORDER

    return [r for r in WRITE_ORDER if r in {f.record for f in forms}]


def _push(file_db, server_db, ctx: _Context, forms: Forms, out: _Outgoing, *, user: str | None,
          cancel: Cancel | None) -> tuple[ImportResult, int, int, dict[str, int]]:
    """Merge the outgoing records on the server in one transaction. Returns the server's import
    result, how many operations it recorded now and how many it had already, and the base
    version each record was merged against (a state both sides hold: the pull's base too)."""
    recorded_now: list[int] = []
    already: list[int] = []
    aligned: list[RecordPlan] = []
    base_info: dict[str, tuple] = {}
    marked: list[bool] = [True]
    origin = f"{ctx.commune_name} ({ctx.commune}) — {ctx.file_path.name}"

    def plan(here) -> ImportResult:
        with here.session() as s:
            # Two pushes of one commune queue here; different communes do not wait for each other.
            s.execute(text("SELECT pg_advisory_xact_lock(:c, hashtext(:k))"), {"c": LOCK_CLASS, "k": ctx.commune})
            marked[:] = [bool(s.execute(text(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'sync_pushed' AND column_name = 'client_operation_mark'")).first())]
            # (A server made before the mark existed tells operations by their ids alone.)
            mark = "client_operation_mark" if marked[0] else "NULL"
            recorded = dict(s.execute(text(
                f"SELECT client_operation_id, {mark} FROM sync_pushed WHERE client_database_id = :d "
                "AND client_operation_id > :a"), {"d": ctx.file_id, "a": ctx.acked}).all())
        # An operation is done when the server recorded this very one; an id it recorded with
        # another mark is a copy's (or the original's, seen from the copy): its records go again,
        # which the merge makes harmless, and the first record of the id stays.
        done = {o for o in out.operations if o in recorded and recorded[o] in (None, out.marks[o])}
        already[:] = [o for o in out.operations if o in done]
        recorded_now[:] = [o for o in out.operations if o not in recorded]
        rows = [r for r in out.rows if out.touched.get(r.uuid, set()) - done]
        with here.session() as s:
            base_info.update(chosen_bases(s, forms, rows, out.candidates))
        plans, counts = plan_import(here, rows, base_info, forms) if rows else ([], _zero(forms))
        result = ImportResult(counts, [], plans)
        aligned[:] = alignments(plans)
        result.more_changes = bool(recorded_now or aligned)
        return result

    def write(s, result: ImportResult) -> None:
        write_settled(s, HeldTransaction(server_db, s), result, base_info, forms, busy=SERVER_BUSY,
                      source=push_source(ctx.file_id), origin=origin, origin_database_id=ctx.file_id,
                      cancel=cancel)
        align(s, aligned)
        if recorded_now:
            mark_column, mark_value = (", client_operation_mark", ", :m") if marked[0] else ("", "")
            s.execute(text("INSERT INTO sync_pushed(client_database_id, client_operation_id, server_operation_id, "
                           f"pushed_at{mark_column}) VALUES (:d, :o, :s, to_char(clock_timestamp() "
                           f"AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'){mark_value})"),
                      [{"d": ctx.file_id, "o": o, "s": s.info["operation_id"], "m": out.marks[o]}
                       for o in recorded_now])

    result = run_import(server_db, ctx.file_path, kind="sync", source=push_source(ctx.file_id),
                        description=f"Đồng bộ từ xã {ctx.commune_name} ({ctx.file_path.name})",
                        plan=plan, write=write, user=user, cancel=cancel)
    merged_from = {u: b[0] for u, b in base_info.items() if b != NO_BASE}
    return result, len(recorded_now) if result.applied else 0, len(already), merged_from


def _zero(forms: Forms) -> dict[str, dict[str, int]]:
    return {f.record: dict.fromkeys(COUNT_KEYS, 0) for f in forms}


# -- pull ------------------------------------------------------------------------------------------


@dataclass
class _Incoming:
    cursor: str
    rows: list[WorkbookRow]
    candidates: dict[str, list[tuple[int, str]]]


def _incoming(server_db, ctx: _Context, forms: Forms, cancel: Cancel | None,
              merged_from: dict[str, int], held: Callable[[str, list[str]], set[str]]) -> _Incoming:
    """The commune's records the server changed since the cursor, read in one REPEATABLE READ
    snapshot together with the new cursor (see the module's docstring), with their candidate
    bases: the state as of the old cursor, and the base the push just merged against.

    A changed record the file holds comes too wherever it now is (`held(record, uuids)`: those
    the file has): a site the department moved to the next commune reaches the file as moved,
    rather than staying behind as it was."""
    with server_db.session() as s:
        s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        cursor = s.execute(text("SELECT CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text)")).scalar_one()
        changed: dict[str, list[str]] | None = None
        if ctx.cursor:
            changed = {}
            for table, uuid in s.execute(text(
                    "SELECT DISTINCT table_name, record_uuid FROM change_log WHERE xid >= CAST(:c AS xid8)"),
                    {"c": ctx.cursor}):
                changed.setdefault(table, []).append(uuid)
        states: dict[str, dict] = {}
        targets: dict[str, dict[str, int]] = {}
        pushed: dict[str, dict[str, int]] = {}
        for record in _records(forms):
            checkpoint(cancel)
            if changed is not None and not changed.get(record):
                continue
            uuids = None if changed is None else changed[record]
            current = read_states(s, forms[record], commune=ctx.commune, uuids=uuids)
            if uuids is not None:
                elsewhere = held(record, [u for u in uuids if u not in current])
                if elsewhere:
                    current |= read_states(s, forms[record], uuids=sorted(elsewhere))
            states[record] = current
            pushed[record] = {u: merged_from[u] for u in current if u in merged_from}
            if not ctx.cursor or not current:
                continue
            # The base: each record's state as of the old cursor, the last one the file received.
            where, param = in_values("postgresql", "record_uuid", list(current), named="uuids")
            targets[record] = dict(s.execute(text(
                f"SELECT record_uuid, max(version) FROM change_log WHERE table_name = :t AND {where} "
                "AND xid < CAST(:c AS xid8) AND version IS NOT NULL GROUP BY record_uuid"),
                {"t": record, "uuids": param, "c": ctx.cursor}).all())
        rows, candidates = based_rows(s, forms, states, [targets, pushed])
    return _Incoming(cursor, rows, candidates)


def _held_by(file_db) -> Callable[[str, list[str]], set[str]]:
    """Which of these records of `record`'s table the file has."""
    def held(record: str, uuids: list[str]) -> set[str]:
        if not uuids:
            return set()
        where, param = in_values("sqlite", "uuid", uuids, named="uuids")
        with file_db.session() as s:
            return {u for (u,) in s.execute(text(f"SELECT uuid FROM {record} WHERE {where}"), {"uuids": param})}
    return held


def _bookkeeping(ctx: _Context, cursor: str, acked: int, url: str | None) -> dict[str, str]:
    out = {META_SERVER: ctx.server_id, META_CURSOR: cursor, META_PUSHED: str(max(acked, ctx.acked))}
    if url:
        out[META_URL] = url
    return out


def _pull(file_db, ctx: _Context, forms: Forms, incoming: _Incoming, meta: dict[str, str], *,
          user: str | None, cancel: Cancel | None) -> ImportResult:
    """Merge the server's records into the file, the bookkeeping in the same transaction."""
    source = pull_source(ctx.server_id)

    aligned: list[RecordPlan] = []

    def plan(here) -> ImportResult:
        with here.session() as s:
            base_info = chosen_bases(s, forms, incoming.rows, incoming.candidates)
        plans, counts = plan_import(here, incoming.rows, base_info, forms) if incoming.rows \
            else ([], _zero(forms))
        result = ImportResult(counts, [], plans)
        aligned[:] = alignments(plans)
        result.more_changes = bool(aligned)
        return result

    def write(s, result: ImportResult) -> None:
        stale = write_plans(s, result.plans, forms, source=source, origin=ctx.server_name,
                            origin_database_id=ctx.server_id, cancel=cancel)
        assert not stale, "a file's write lock keeps every plan current"
        align(s, aligned)
        for key, value in meta.items():
            set_meta(s, key, value)

    result = run_import(file_db, ctx.file_path, kind="sync", source=source,
                        description=f"Đồng bộ với máy chủ Sở ({ctx.server_name})",
                        plan=plan, write=write, user=user, cancel=cancel)
    if not result.applied:
        _store_meta(file_db, meta, source=source, user=user)
    return result


def _store_meta(file_db, meta: dict[str, str], *, source: str, user: str | None) -> None:
    """The bookkeeping alone, when the pull brought nothing to write (and only if it moved)."""
    with file_db.session() as s:
        now = dict(s.execute(text("SELECT key, value FROM meta")).all())
    if all(now.get(k) == v for k, v in meta.items()):
        return
    with file_db.operation("Đồng bộ với máy chủ Sở: ghi nhận / sync bookkeeping", user=user, source=source) as s:
        for key, value in meta.items():
            set_meta(s, key, value)


# -- the whole sync ----------------------------------------------------------------------------------


def sync(file_db, server_db, *, report: Progress | None = None, cancel: Cancel | None = None,
         user: str | None = None, url: str | None = None, forms: Forms | None = None) -> SyncResult:
    """Push the file's changes to the server, then pull the server's into the file. `url` (the
    address as the user gave it, without a password) is remembered in the file's meta."""
    report = report or (lambda _stage, _fraction: None)
    forms = forms or load_forms()
    with _connection_faults(server_db):
        ctx = _context(file_db, server_db)
        report("đọc thay đổi trong tệp / reading the file's changes", 0.05)
        out = _outgoing(file_db, ctx, forms)
        checkpoint(cancel)
        report("gửi lên máy chủ / pushing", 0.2)
        pushed, recorded, already, merged_from = _push(file_db, server_db, ctx, forms, out, user=user,
                                                       cancel=cancel)
        checkpoint(cancel)
        report("nhận từ máy chủ / pulling", 0.5)
        incoming = _incoming(server_db, ctx, forms, cancel, merged_from, _held_by(file_db))
    checkpoint(cancel)
    report("ghi vào tệp / writing the file", 0.75)
    pulled = _pull(file_db, ctx, forms, incoming, _bookkeeping(ctx, incoming.cursor, out.last, url),
                   user=user, cancel=cancel)
    report("xong / done", 1.0)
    with _connection_faults(server_db):
        waiting = _open_conflicts(server_db, ctx.file_id)
    return SyncResult(pushed=pushed.total, pulled=pulled.total, pushed_operations=recorded, already_pushed=already,
                      server_conflicts=waiting, file_conflicts=_open_conflicts(file_db),
                      changes=pulled.changes, backup=pulled.backup, cursor=incoming.cursor, first=ctx.first,
                      server=ctx.server_name)


@contextlib.contextmanager
def _connection_faults(server_db):
    """A connection lost while reading the server (ServerDatabase.operation words the ones of its
    writes) is the same one line a user reads, never a traceback. Nothing of the file was written
    yet, and the server rolled back what it had not committed: the next sync starts again."""
    from sqlalchemy.exc import DBAPIError

    from .database import ServerError, connection_fault

    try:
        yield
    except DBAPIError as exc:
        url = getattr(server_db, "url", None)
        raise (connection_fault(url, exc) if url is not None else None) or ServerError(
            server_db.name, f"máy chủ từ chối ({exc.orig})", f"the server refused ({exc.orig})") from None


def _open_conflicts(db, origin_database_id: str | None = None) -> int:
    sql = "SELECT count(*) FROM conflicts WHERE status = 'open'"
    params = {}
    if origin_database_id is not None:
        sql += " AND workbook_database_id = :d"
        params["d"] = origin_database_id
    with db.session() as s:
        return int(s.execute(text(sql), params).scalar_one())


__all__ = ["META_CURSOR", "META_PUSHED", "META_SERVER", "META_URL", "SyncResult", "pull_source", "sync"]
