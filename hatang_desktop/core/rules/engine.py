"""Evaluate rules over a whole database at once: one frame per record type, one mask per rule.

Each record type is read once with the fields every selected rule needs; spatial predicates go
through a shapely STRtree (conditions.py). The result is one row per (rule, record) that breaks
the rule, with its position, commune and a message, ready to be reconciled with the findings.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..forms import load_forms
from ..text import format_plain
from ..storage.database import Database
from ..storage.dialect import raw
from ..text import format_decimal
from .definitions import Rule
from .records import RECORDS, read_frame

Progress = Callable[[str, float], None] | None
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class Context:
    """Frames by record type, read once per run with the union of the fields the rules need."""

    def __init__(self, db: Database, rules: list[Rule]):
        self.db = db
        self.fields: dict[str, set[str]] = {}
        self.geometry: set[str] = set()
        for rule in rules:
            self.fields.setdefault(rule.record, set()).update(rule.condition.fields())
            self.fields[rule.record].update(_message_fields(rule))
            for record, names in rule.condition.others().items():
                self.fields.setdefault(record, set()).update(names)
            self.geometry |= rule.condition.needs_geometry()
            if not RECORDS[rule.record].is_point:
                self.geometry.add(rule.record)  # its position is a point on the line or polygon
        # Which rows to fetch: for a record type only rules look at (never another rule's `near`
        # or `intersects` partner), the rows some rule might flag; else all.
        others = set()
        for rule in rules:
            others |= set(rule.condition.others())
        # Each is a list of SQL terms, all of which a fetched row satisfies: the full condition,
        # and before it one over the record's own columns only, which SQLite tests before it
        # looks the parent pole up (most attachments are then never joined).
        self.prefilter: dict[str, list[tuple[str, list]]] = {}
        for record in {r.record for r in rules} - others:
            terms = []
            for local in (True, False):
                parts = [r.condition.sql(r.record, r.values, local) for r in rules if r.record == record]
                if not any(p is None for p in parts):
                    terms.append((" OR ".join(f"({p[0]})" for p in parts), [v for p in parts for v in p[1]]))
            if len(terms) == 2 and terms[0][0] == terms[1][0]:
                terms = terms[1:]
            self.prefilter[record] = terms
        self._frames: dict[str, pd.DataFrame] = {}
        self._units: pd.DataFrame | None = None
        self.read_seconds = 0.0

    def units(self) -> pd.DataFrame:
        """Communes and the province (code, uuid, name, centre), for rules that report per commune."""
        if self._units is None:
            with self.db.session() as s:
                rows = raw(s).execute(
                    "SELECT code, uuid, name, level, centre_lat, centre_lon FROM admin_units "
                    "WHERE deleted = 0 AND level IN ('commune', 'province') ORDER BY id").fetchall()
            self._units = pd.DataFrame.from_records(rows, columns=["code", "uuid", "name", "level", "lat", "lon"])
        return self._units

    def _read(self, record: str) -> pd.DataFrame:
        return read_frame(self.db, record, **self._args(record))

    def _args(self, record: str) -> dict:
        return {"fields": self.fields.get(record, set()), "with_geometry": record in self.geometry,
                "prefilter": self.prefilter.get(record)}

    def read_ahead(self) -> None:
        """Every frame the rules need, read now side by side where that pays (frames_apart);
        else nothing here, and each is read when first asked for."""
        from .frames_apart import read_apart

        t0 = time.perf_counter()
        self._frames.update(read_apart(self.db, {r: self._args(r) for r in self.fields if r not in self._frames}))
        self.read_seconds += time.perf_counter() - t0

    def frame(self, record: str) -> pd.DataFrame:
        if record not in self._frames:
            t0 = time.perf_counter()
            self._frames[record] = self._read(record)
            self.read_seconds += time.perf_counter() - t0
        return self._frames[record]


def _message_fields(rule: Rule) -> set[str]:
    names = set()
    for text in rule.message.values():
        names |= {n for n in _PLACEHOLDER.findall(text) if n in RECORDS[rule.record].fields}
    for p in rule.parameters.values():
        if p.keyed_by:
            names.add(p.keyed_by)
    return names


@dataclass
class Hits:
    """Records that break one rule. Messages are rendered on demand (`notes`), only for the
    findings a run actually writes: a re-run with nothing new formats nothing."""
    rule: Rule
    frame: pd.DataFrame  # _uuid, _lat, _lon, _commune, _label, _operator
    source: pd.DataFrame | None = None  # the rule's whole frame, and the hit rows in it
    rows: np.ndarray | None = None
    evaluation: object = None
    # A rule reported per commune: each frame row is a commune, `members` the labels of its
    # records that break the rule (one array per row), `records` how many in all.
    members: list[np.ndarray] | None = None
    records: int = 0

    def __post_init__(self) -> None:
        if self.members is None:
            self.records = len(self.frame)

    @property
    def target_table(self) -> str:
        return self.rule.target_table

    def notes(self, positions, lang: str = "vi") -> list[str]:
        positions = np.asarray(positions, dtype=int)
        if self.members is not None:
            return [render_group_message(self.rule, self.frame["_label"].iloc[p], self.members[p], lang)
                    for p in positions]
        if self.source is None or not len(positions):
            return [""] * len(positions)
        return render_messages(self.rule, self.source, self.rows[positions], self.evaluation, lang)


@dataclass
class Evaluation:
    hits: list[Hits] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    read_seconds: float = 0.0

    def total(self) -> int:
        return sum(len(h.frame) for h in self.hits)


def evaluate(db: Database, rules: list[Rule], *, commune: str | None = None,
             progress: Progress = None, read_ahead: bool = True) -> Evaluation:
    """Every rule over its records. `read_ahead=False` reads each frame when a rule first
    needs it, in this process (the frames are the same)."""
    from .conditions import Evaluation as RuleEval

    ctx = Context(db, rules)
    if read_ahead and rules:
        if progress:
            progress(rules[0].id, 0.0)
        ctx.read_ahead()
    out = Evaluation()
    for i, rule in enumerate(rules):
        if progress:
            progress(rule.id, i / max(1, len(rules)))
        t0 = time.perf_counter()
        frame = ctx.frame(rule.record)
        active = np.ones(len(frame), dtype=bool)
        if commune:
            active &= (frame["_commune"] == commune).to_numpy()
        ev = RuleEval(ctx, rule.values, rule.record)
        mask = rule.condition.mask(ev, frame, active) if active.any() else active
        rows = np.flatnonzero(mask)
        hit = frame.iloc[rows][["_uuid", "_lat", "_lon", "_commune", "_label", "_operator"]].copy()
        if not RECORDS[rule.record].is_point:
            hit["_lon"], hit["_lat"] = _line_positions(frame, rows, ev.position)
        hits = Hits(rule, hit.reset_index(drop=True), frame, rows, ev)
        out.hits.append(group_by_commune(hits, ctx.units()) if rule.aggregate else hits)
        out.seconds[rule.id] = time.perf_counter() - t0
    out.read_seconds = ctx.read_seconds
    if progress:
        progress("", 1.0)
    return out


COMMUNE_KEY = "commune:"  # how a per-commune finding is matched with the stored one (no target uuid)


def group_by_commune(hits: Hits, units: pd.DataFrame) -> Hits:
    """The rule's hits as one per commune, at the commune's centre, with no target record (its
    commune_code says where). Records with no commune (or one not in the database) make one
    finding without a commune, at the province's centre."""
    frame = hits.frame
    communes = units[units["level"] == "commune"].set_index("code")
    province = units[units["level"] == "province"]
    key = frame["_commune"].where(frame["_commune"].isin(communes.index), "").fillna("")
    # Groups in commune-code order ("" first), each group's records in frame order.
    codes, keys = pd.factorize(key.to_numpy(dtype=object), sort=True)
    order = np.argsort(codes, kind="stable")
    labels = frame["_label"].astype(str).to_numpy(dtype=object)[order]
    members = np.split(labels, np.cumsum(np.bincount(codes, minlength=len(keys)))[:-1]) if len(keys) else []
    places = communes.reindex([k for k in keys if k])
    unit = province.iloc[0] if len(province) else None
    parts = [(COMMUNE_KEY + code, lat, lon, code, name) for code, lat, lon, name in
             zip(places.index, places["lat"].to_numpy(), places["lon"].to_numpy(), places["name"].to_numpy())]
    if len(keys) and not keys[0]:  # records with no commune: at the province's centre
        parts.insert(0, (COMMUNE_KEY, None if unit is None else unit["lat"],
                         None if unit is None else unit["lon"], None, None if unit is None else unit["name"]))
    grouped = pd.DataFrame.from_records(parts, columns=["_uuid", "_lat", "_lon", "_commune", "_label"])
    grouped["_operator"] = None
    return Hits(hits.rule, grouped, members=members, records=len(frame))


def _line_positions(frame: pd.DataFrame, rows: np.ndarray, position) -> tuple[np.ndarray, np.ndarray]:
    """A point for each hit on a line or polygon: where a predicate found it, else on the shape."""
    import shapely

    lon = np.full(len(rows), np.nan)
    lat = np.full(len(rows), np.nan)
    if position is not None:
        lon, lat = position[0][rows], position[1][rows]
    missing = np.isnan(lon)
    if missing.any():
        geoms = frame["_geom"].to_numpy()[rows][missing]
        pts = shapely.point_on_surface(geoms)
        lon[missing], lat[missing] = shapely.get_x(pts), shapely.get_y(pts)
    return lon, lat


# -- messages --------------------------------------------------------------------------------

def _number(value: float, lang: str) -> str:
    return format_plain(value, lang)


def _format(value, spec_kind: str | None, values_list, lang: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if spec_kind == "boolean":
        return ("Có" if value else "Không") if lang == "vi" else ("yes" if value else "no")
    if values_list is not None:
        return values_list.label(str(value), lang)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return _number(float(value), lang)
    return str(value)


GROUP_LABELS_SHOWN = 10  # record codes a per-commune message names; the rest are counted


def render_group_message(rule: Rule, place, labels: np.ndarray, lang: str) -> str:
    """A per-commune rule's message: {count} records, in {commune}, {records} their codes."""
    shown = ", ".join(map(str, labels[:GROUP_LABELS_SHOWN]))
    more = len(labels) - GROUP_LABELS_SHOWN
    if more > 0:
        shown += f" (+{format_decimal(more, 0, lang)})"
    values = {"count": format_decimal(len(labels), 0, lang), "commune": str(place or "—"), "records": shown}
    for name, value in rule.values.items():
        values[f"params.{name}"] = (", ".join(map(str, value)) if isinstance(value, list)
                                    else _format(value, None, None, lang))
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], rule.message[lang])


def _each(values: np.ndarray, fmt) -> list[str]:
    """`fmt` of every value, computed once per distinct value (a column of a national run holds
    hundreds of thousands of values but few distinct ones: operators, heights, value lists)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    texts = np.array([fmt(u) for u in uniques] + [""], dtype=object)  # the extra: never empty
    return texts[codes].tolist()


def render_messages(rule: Rule, frame: pd.DataFrame, rows: np.ndarray, ev, lang: str) -> list[str]:
    """The rule's message for each hit row, placeholders filled with the row's values."""
    if not len(rows):
        return []
    template = rule.message[lang]
    names = _PLACEHOLDER.findall(template)
    lists = load_forms().lists
    spec = RECORDS[rule.record]
    columns: dict[str, list[str]] = {}
    for name in set(names):
        if name in spec.fields:
            f = spec.fields[name]
            vl = lists.get(f.values) if f.values else None
            columns[name] = _each(frame[name].to_numpy()[rows], lambda v: _format(v, f.kind, vl, lang))
        elif name.startswith("params."):
            pname = name.split(".", 1)[1]
            value, p = rule.values[pname], rule.parameters[pname]
            if p.keyed_by:
                columns[name] = _each(frame[p.keyed_by].to_numpy()[rows], lambda k: _format(value.get(k), None, None, lang))
            elif isinstance(value, list):
                columns[name] = [", ".join(map(str, value))] * len(rows)
            else:
                columns[name] = [_format(value, None, None, lang)] * len(rows)
        elif name == "matched":
            # Which labelled parts each row matched, as one bit each; each combination written once.
            parts = [(label[lang], mask[rows]) for label, mask in ev.labelled]
            code = np.zeros(len(rows), dtype=np.int64)
            for bit, (_text, m) in enumerate(parts):
                code |= np.asarray(m, dtype=bool).astype(np.int64) << bit
            columns[name] = _each(code, lambda c: ", ".join(t for bit, (t, _m) in enumerate(parts) if c >> bit & 1))
        elif name == "record":
            columns[name] = [str(v) for v in frame["_label"].to_numpy()[rows]]
        elif name.endswith(".distance_m"):
            columns[name] = _each(ev.extras[name][rows], lambda v: _number(round(float(v), 1), lang))
        else:
            columns[name] = _each(ev.extras[name][rows], lambda v: _format(v, None, None, lang))
    # The template as a format string over the columns in placeholder order (literal braces
    # doubled), filled row by row in C.
    pieces = _PLACEHOLDER.split(template)  # literal, name, literal, name, ..., literal
    fmt = "".join(p.replace("{", "{{").replace("}", "}}") if k % 2 == 0 else "{}" for k, p in enumerate(pieces))
    return list(map(fmt.format, *(columns[p] for p in pieces[1::2]))) if names else [fmt.format()] * len(rows)
