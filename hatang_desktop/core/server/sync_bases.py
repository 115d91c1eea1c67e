"""The three-way bases of an online sync (server/sync.py): which state both sides hold.

A synced record travels as its whole state with candidate bases, each a (version, hash of the
state at that version) the sender can rebuild from its change log; the receiver takes the newest
candidate it holds in the same state at the same version. Where two sides reach one state apart,
the receiver takes the sender's version for it (version only), so the next sync has a base again.
"""

from __future__ import annotations

from sqlalchemy import text

from ..exchange.history import states_at
from ..exchange.merge import RecordPlan
from ..exchange.records import read_states, same_value, state_hash
from ..exchange.workbook_rows import WorkbookRow
from ..forms import Forms

NO_BASE = (-1, None, "-")                # a base that no state hashes to: every difference conflicts


def whole_row(form_record: str, state) -> WorkbookRow:
    """A record's whole current state as the merge reads a row (whole_state: exchange.merge._plan_record)."""
    return WorkbookRow(form_record, 0, state.uuid, False, state.version, state.deleted, dict(state.values),
                       extra={"sheet": form_record, "notes": [], "kept": set(), "whole_state": True})


def hash_of(state: dict) -> str:
    return state_hash({k: v for k, v in state.items() if k != "deleted"}, state["deleted"])


def based_rows(s, forms: Forms, states: dict[str, dict], rounds: list[dict[str, dict[str, int]]]
               ) -> tuple[list[WorkbookRow], dict[str, list[tuple[int, str]]]]:
    """Rows of the current states, and for each its candidate bases, newest first: (version, hash
    of the state at that version here), one per round of targets ({record: {uuid: version}})
    where history can say. The other side takes the first candidate whose version it holds in
    the same state (`chosen_bases`): the newest common state is the base that calls the fewest
    differences conflicts."""
    rows, candidates = [], {}
    for record, current in states.items():
        found: dict[str, list[tuple[int, str]]] = {u: [] for u in current}
        for targets in rounds:
            wanted = {u: v for u, v in targets.get(record, {}).items() if u in current}
            for u, b in states_at(s, forms[record], current, wanted).items():
                if b is not None and all(v != wanted[u] for v, _h in found[u]):
                    found[u].append((wanted[u], hash_of(b)))
        for u, state in current.items():
            rows.append(whole_row(record, state))
            candidates[u] = sorted(found[u], reverse=True)
    return rows, candidates


def chosen_bases(s, forms: Forms, rows: list[WorkbookRow], candidates: dict[str, list[tuple[int, str]]]
                 ) -> dict[str, tuple]:
    """base_info for plan_import here: each record's first candidate base that this database
    holds in the same state at the same version (hashes agree), else NO_BASE."""
    chosen: dict[str, tuple] = {}
    by_record: dict[str, list[str]] = {}
    for r in rows:
        by_record.setdefault(r.record, []).append(r.uuid)
    for record, uuids in by_record.items():
        current = read_states(s, forms[record], uuids=uuids)
        pending = {u for u in uuids if u in current and candidates.get(u)}
        depth = max((len(candidates[u]) for u in pending), default=0)
        for i in range(depth):
            targets = {u: candidates[u][i][0] for u in pending if len(candidates[u]) > i}
            for u, b in states_at(s, forms[record], current, targets).items():
                if b is not None and hash_of(b) == candidates[u][i][1]:
                    chosen[u] = (targets[u], None, candidates[u][i][1])
                    pending.discard(u)
    return {r.uuid: chosen.get(r.uuid, NO_BASE) for r in rows}


def alignments(plans: list[RecordPlan]) -> list[RecordPlan]:
    """Records that are already the sender's state, field for field, at an older version here.

    Two sides reach the same state apart (a conflict settled the same way on both, the same edit
    made twice): the merge has nothing to write, but the versions differ, and the next sync
    would find no common base (the sender's version of that state is not one this side had)
    and hold every later edit of the record as a conflict. Taking the sender's version for the
    same state gives them one again; only the version moves, so nothing is logged or re-sent."""
    return [p for p in plans if p.action == "unchanged" and not p.conflicts and p.local_version is not None
            and p.row.extra.get("whole_state") and (p.row.version or 0) > p.local_version
            and bool(p.row.deleted) == bool(p.local_deleted) and p.local is not None
            and all(same_value(v, p.local.get(k)) for k, v in p.row.values.items())]


def align(s, plans: list[RecordPlan]) -> None:
    for p in plans:   # optimistic like every update: a record written meanwhile keeps its version
        s.execute(text(f"UPDATE {p.row.record} SET version = :v WHERE uuid = :u AND version = :base"),
                  {"v": p.row.version, "u": p.row.uuid, "base": p.local_version})


__all__ = ["NO_BASE", "align", "alignments", "based_rows", "chosen_bases", "hash_of", "whole_row"]
