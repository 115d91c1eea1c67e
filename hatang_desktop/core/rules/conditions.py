"""The condition language of rule files: parsed into a small tree, evaluated over whole frames.

    condition := {all: [condition, ...]} | {any: [condition, ...]} | {not: condition}
               | {field: NAME, OP: operand}            OP: eq ne lt le gt ge in not_in filled
               | {near: {record: sites|poles, closer_than_m: operand, where: condition,
                         differ_in: [NAME, ...], as: NAME}}
               | {intersects: {record: zones|fibre_routes, where: condition, as: NAME}}
    operand   := a literal | {param: NAME} | {field: NAME} | {mul|min|max: [operand, operand, ...]}

Any condition may carry `label: {vi, en}`; a rule's message can list the labelled parts that
held with `{matched}`. A comparison with an empty value is false (use `filled` to test for empty
values), so "not recorded" never counts as a breach. Nothing is ever passed to eval or to SQL:
every name is checked against the record catalogue when the file is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from .records import RECORDS, distance_m, plane

COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "filled")
NEAR_RECORDS = ("sites", "poles")
INTERSECT_RECORDS = ("zones", "fibre_routes")


class ConditionError(ValueError):
    """A mistake in a condition; the loader adds the file and rule to the message."""


# -- evaluation state ------------------------------------------------------------------------

@dataclass
class Evaluation:
    """One rule over one record frame: parameters, and what predicates found on the way."""
    context: Any  # engine.Context: frames by record type
    params: dict[str, Any]
    record: str
    labelled: list[tuple[dict, np.ndarray]] = field(default_factory=list)
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    position: tuple[np.ndarray, np.ndarray] | None = None

    def nested(self, record: str) -> Evaluation:
        return Evaluation(self.context, self.params, record)


# -- operands --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    value: Any

    def value_in(self, ev: Evaluation, frame: pd.DataFrame):
        return self.value

    def params(self) -> set[str]:
        return set()

    def fields(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class Param:
    name: str
    keyed_by: str | None = None

    def value_in(self, ev: Evaluation, frame: pd.DataFrame):
        value = ev.params[self.name]
        if self.keyed_by is None:
            return value
        # A parameter per category (e.g. minimum height per situation): looked up row by row.
        return frame[self.keyed_by].map(value).astype("float64").to_numpy()

    def params(self) -> set[str]:
        return {self.name}

    def fields(self) -> set[str]:
        return {self.keyed_by} if self.keyed_by else set()


@dataclass(frozen=True)
class FieldRef:
    name: str

    def value_in(self, ev: Evaluation, frame: pd.DataFrame):
        return frame[self.name].to_numpy()

    def params(self) -> set[str]:
        return set()

    def fields(self) -> set[str]:
        return {self.name}


@dataclass(frozen=True)
class Arith:
    op: str
    args: tuple

    def value_in(self, ev: Evaluation, frame: pd.DataFrame):
        values = [np.asarray(a.value_in(ev, frame), dtype="float64") for a in self.args]
        out = values[0]
        fn = {"mul": np.multiply, "min": np.minimum, "max": np.maximum}[self.op]
        for v in values[1:]:
            out = fn(out, v)
        return out

    def params(self) -> set[str]:
        return set().union(*(a.params() for a in self.args))

    def fields(self) -> set[str]:
        return set().union(*(a.fields() for a in self.args))


# -- conditions ------------------------------------------------------------------------------

class Node:
    label: dict | None = None
    cost = 0

    def mask(self, ev: Evaluation, frame: pd.DataFrame, active: np.ndarray) -> np.ndarray:
        result = self._mask(ev, frame, active) & active
        if self.label:
            ev.labelled.append((self.label, result))
        return result

    def _mask(self, ev, frame, active) -> np.ndarray:
        raise NotImplementedError

    def fields(self) -> set[str]:
        return set()

    def params(self) -> set[str]:
        return set()

    def others(self) -> dict[str, set[str]]:
        """Fields this condition reads on other record types (spatial predicates)."""
        return {}

    def needs_geometry(self) -> set[str]:
        return set()

    def sql(self, record: str, params: dict, local: bool = False) -> tuple[str, list] | None:
        """A SQL condition every row this condition holds for satisfies (a superset), with its
        parameters; None when it cannot narrow the rows down (spatial, derived fields...).
        `local`: only over the record's own table, no joined parent column (SQLite can then test
        it before looking the parent up)."""
        return None


def _merge(a: dict[str, set[str]], b: dict[str, set[str]]) -> dict[str, set[str]]:
    out = {k: set(v) for k, v in a.items()}
    for k, v in b.items():
        out.setdefault(k, set()).update(v)
    return out


@dataclass(eq=False)
class Group(Node):
    kind: str  # all, any
    children: list[Node]
    label: dict | None = None

    @property
    def cost(self) -> int:
        return max((c.cost for c in self.children), default=0)

    def _mask(self, ev, frame, active):
        if self.kind == "all":
            result = active.copy()
            # Cheap comparisons first: a spatial predicate then only looks at the rows left.
            for child in sorted(self.children, key=lambda c: c.cost):
                result = child.mask(ev, frame, result)
                if not result.any() and not self._has_labels():
                    break
            return result
        result = np.zeros(len(frame), dtype=bool)
        labelled = self._has_labels()
        for child in sorted(self.children, key=lambda c: c.cost):
            # Labelled parts are all evaluated, so a message can say everything that was wrong.
            result |= child.mask(ev, frame, active if labelled else active & ~result)
        return result

    def _has_labels(self) -> bool:
        return any(c.label for c in self.children)

    def sql(self, record, params, local=False):
        parts = [c.sql(record, params, local) for c in self.children]
        if self.kind == "all":
            parts = [p for p in parts if p is not None]
            if not parts:
                return None
        elif any(p is None for p in parts):
            return None
        joiner = " AND " if self.kind == "all" else " OR "
        return joiner.join(f"({p[0]})" for p in parts), [v for p in parts for v in p[1]]

    def fields(self):
        return set().union(*(c.fields() for c in self.children))

    def params(self):
        return set().union(*(c.params() for c in self.children))

    def others(self):
        out: dict[str, set[str]] = {}
        for c in self.children:
            out = _merge(out, c.others())
        return out

    def needs_geometry(self):
        return set().union(*(c.needs_geometry() for c in self.children))


@dataclass(eq=False)
class Not(Node):
    child: Node
    label: dict | None = None

    @property
    def cost(self) -> int:
        return self.child.cost

    def _mask(self, ev, frame, active):
        return active & ~self.child.mask(ev, frame, active)

    def fields(self):
        return self.child.fields()

    def params(self):
        return self.child.params()

    def others(self):
        return self.child.others()

    def needs_geometry(self):
        return self.child.needs_geometry()


def _filled(col: pd.Series) -> np.ndarray:
    # Blank texts were read as NULL (records.read_frame), so "filled" is simply "not null".
    return col.notna().to_numpy()


@dataclass(eq=False)
class Compare(Node):
    field_name: str
    op: str
    operand: Any
    kind: str
    label: dict | None = None

    def _mask(self, ev, frame, active):
        col = frame[self.field_name]
        filled = _filled(col)
        if self.op == "filled":
            return filled if self.operand.value else ~filled
        value = self.operand.value_in(ev, frame)
        if self.kind == "boolean":
            value = ([float(bool(v)) for v in value] if isinstance(value, (list, tuple))
                     else value if isinstance(value, np.ndarray) else float(bool(value)))
        if self.op in ("in", "not_in"):
            inside = col.isin(list(value)).to_numpy()
            return filled & (inside if self.op == "in" else ~inside)
        values = col.to_numpy()
        if self.kind in ("number", "boolean"):
            values = values.astype("float64")
        with np.errstate(invalid="ignore"):
            if self.op == "eq":
                out = values == value
            elif self.op == "ne":
                out = values != value
            elif self.op == "lt":
                out = values < value
            elif self.op == "le":
                out = values <= value
            elif self.op == "gt":
                out = values > value
            else:
                out = values >= value
        # An empty value on either side is "not recorded": never a breach.
        out = np.asarray(out, dtype=bool) & filled
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            out &= ~np.isnan(value)
        return out

    def fields(self):
        return {self.field_name} | self.operand.fields()

    _SQL_OPS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

    def sql(self, record, params, local=False):
        from .records import field_sql

        col = field_sql(record, self.field_name, local)
        if col is None:
            return None
        if self.op == "filled":
            return (f"{col} IS NOT NULL", []) if self.operand.value else (f"{col} IS NULL", [])

        def sql_value(v):
            return int(v) if isinstance(v, bool) else v

        op = self.operand
        if isinstance(op, Param) and op.keyed_by:
            key = field_sql(record, op.keyed_by, local)
            mapping = params[op.name]
            if key is None or not mapping or self.op not in self._SQL_OPS:
                return None
            case = " ".join("WHEN ? THEN ?" for _ in mapping)
            values = [v for k, x in mapping.items() for v in (k, x)]
            return f"{col} {self._SQL_OPS[self.op]} (CASE {key} {case} END)", values
        if isinstance(op, (Literal, Param)):
            value = op.value if isinstance(op, Literal) else params[op.name]
            if self.op in ("in", "not_in"):
                values = [sql_value(v) for v in value]
                if not values:
                    return ("1 = 0", []) if self.op == "in" else (f"{col} IS NOT NULL", [])
                marks = ", ".join("?" * len(values))
                return f"{col} {'IN' if self.op == 'in' else 'NOT IN'} ({marks})", values
            if isinstance(value, (list, dict)) or value is None:
                return None
            return f"{col} {self._SQL_OPS[self.op]} ?", [sql_value(value)]
        return None  # another field or arithmetic: left to the full evaluation

    def params(self):
        return self.operand.params()


@dataclass(eq=False)
class Near(Node):
    record: str
    distance: Any
    where: Node | None
    differ_in: tuple[str, ...]
    name: str
    label: dict | None = None
    cost = 2

    def _mask(self, ev, frame, active):
        result = np.zeros(len(frame), dtype=bool)
        dist_out = np.full(len(frame), np.nan)
        label_out = np.full(len(frame), None, dtype=object)
        ev.extras[f"{self.name}.distance_m"] = dist_out
        ev.extras[f"{self.name}.label"] = label_out
        limit = float(self.distance.value_in(ev, frame))
        others = ev.context.frame(self.record)
        omask = np.ones(len(others), dtype=bool)
        if self.where is not None:
            omask = self.where.mask(ev.nested(self.record), others, omask)
        tlon, tlat = frame["_lon"].to_numpy(), frame["_lat"].to_numpy()
        olon, olat = others["_lon"].to_numpy(), others["_lat"].to_numpy()
        t_idx = np.flatnonzero(active & ~np.isnan(tlon) & ~np.isnan(tlat))
        o_idx = np.flatnonzero(omask & ~np.isnan(olon) & ~np.isnan(olat))
        if not len(t_idx) or not len(o_idx) or limit <= 0:
            return result
        lat_ref = float(max(np.abs(tlat[t_idx]).max(), np.abs(olat[o_idx]).max()))
        tree = shapely.STRtree(shapely.points(*plane(olon[o_idx], olat[o_idx], lat_ref)))
        ti, oi = tree.query(shapely.points(*plane(tlon[t_idx], tlat[t_idx], lat_ref)),
                            predicate="dwithin", distance=limit)
        ti, oi = t_idx[ti], o_idx[oi]
        d = distance_m(tlon[ti], tlat[ti], olon[oi], olat[oi])
        keep = d < limit
        if self.record == ev.record:
            keep &= frame["_uuid"].to_numpy()[ti] != others["_uuid"].to_numpy()[oi]
        for name in self.differ_in:
            a, b = frame[name].to_numpy()[ti], others[name].to_numpy()[oi]
            keep &= pd.notna(a) & pd.notna(b) & (a != b)
        ti, oi, d = ti[keep], oi[keep], d[keep]
        if len(ti):
            order = np.lexsort((d, ti))
            ti, oi, d = ti[order], oi[order], d[order]
            first = np.r_[True, ti[1:] != ti[:-1]]
            result[ti[first]] = True
            dist_out[ti[first]] = d[first]
            label_out[ti[first]] = others["_label"].to_numpy()[oi[first]]
        return result

    def fields(self):
        return set(self.differ_in) | self.distance.fields()

    def params(self):
        return self.distance.params() | (self.where.params() if self.where else set())

    def others(self):
        inner = self.where.fields() if self.where else set()
        return _merge({self.record: inner | set(self.differ_in)},
                      self.where.others() if self.where else {})


@dataclass(eq=False)
class Intersects(Node):
    record: str
    where: Node | None
    name: str
    label: dict | None = None
    cost = 2

    def _mask(self, ev, frame, active):
        result = np.zeros(len(frame), dtype=bool)
        label_out = np.full(len(frame), None, dtype=object)
        ev.extras[f"{self.name}.label"] = label_out
        others = ev.context.frame(self.record)
        omask = np.ones(len(others), dtype=bool)
        if self.where is not None:
            omask = self.where.mask(ev.nested(self.record), others, omask)
        o_idx = np.flatnonzero(omask & pd.notna(others["_geom"]).to_numpy())
        t_geoms = _geometries(ev.record, frame)
        t_idx = np.flatnonzero(active & pd.notna(t_geoms))
        if not len(t_idx) or not len(o_idx):
            return result
        o_geoms = others["_geom"].to_numpy()[o_idx]
        tree = shapely.STRtree(o_geoms)
        ti, oi = tree.query(t_geoms[t_idx], predicate="intersects")
        if not len(ti):
            return result
        first = np.r_[True, ti[1:] != ti[:-1]]  # query returns pairs sorted by input index
        rows, zones = t_idx[ti[first]], oi[first]
        result[rows] = True
        label_out[rows] = others["_label"].to_numpy()[o_idx[zones]]
        if not RECORDS[ev.record].is_point:
            # Where the finding sits on the map: a point of the line inside the zone.
            inside = shapely.point_on_surface(shapely.intersection(t_geoms[rows], o_geoms[zones]))
            lon, lat = (np.full(len(frame), np.nan) for _ in range(2))
            lon[rows], lat[rows] = shapely.get_x(inside), shapely.get_y(inside)
            ev.position = (lon, lat)
        return result

    def params(self):
        return self.where.params() if self.where else set()

    def others(self):
        inner = self.where.fields() if self.where else set()
        return _merge({self.record: inner}, self.where.others() if self.where else {})

    def needs_geometry(self):
        return {self.record}


def _geometries(record: str, frame: pd.DataFrame) -> np.ndarray:
    if RECORDS[record].is_point:
        lon, lat = frame["_lon"].to_numpy(), frame["_lat"].to_numpy()
        return np.where(np.isnan(lon) | np.isnan(lat), None, shapely.points(lon, lat))
    return frame["_geom"].to_numpy()


# -- parsing ---------------------------------------------------------------------------------

def _label(raw, where: str) -> dict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not str(raw.get("vi", "")).strip() or not str(raw.get("en", "")).strip():
        raise ConditionError(f"{where}: 'label' cần vi và en / 'label' needs vi and en")
    return {"vi": str(raw["vi"]), "en": str(raw["en"])}


class Parser:
    """Turns the YAML of one rule's condition into nodes, checking every name on the way."""

    def __init__(self, parameters: dict, lists: dict):
        self.parameters = parameters  # name -> Parameter (definitions.py)
        self.lists = lists  # value lists from forms/value_lists.yaml

    def condition(self, raw, record: str, where: str, names: set[str]) -> Node:
        if not isinstance(raw, dict) or not raw:
            raise ConditionError(f"{where}: điều kiện phải là một bảng khóa/giá trị / a condition "
                                 "must be a mapping")
        label = _label(raw.get("label"), where)
        keys = set(raw) - {"label"}
        if keys == {"all"} or keys == {"any"}:
            kind = keys.pop()
            items = raw[kind]
            if not isinstance(items, list) or not items:
                raise ConditionError(f"{where}: '{kind}' cần một danh sách điều kiện / '{kind}' needs "
                                     "a non-empty list")
            return Group(kind, [self.condition(c, record, f"{where} > {kind}[{i}]", names)
                                for i, c in enumerate(items)], label)
        if keys == {"not"}:
            return Not(self.condition(raw["not"], record, f"{where} > not", names), label)
        if keys == {"near"}:
            return self._near(raw["near"], record, f"{where} > near", names, label)
        if keys == {"intersects"}:
            return self._intersects(raw["intersects"], record, f"{where} > intersects", names, label)
        if "field" in keys:
            return self._compare(raw, record, where, label)
        raise ConditionError(f"{where}: không hiểu điều kiện với khóa {sorted(keys)}; dùng all, any, "
                             "not, field, near hoặc intersects / unknown condition keys")

    def _field(self, name, record: str, where: str):
        fields = RECORDS[record].fields
        if not isinstance(name, str) or name not in fields:
            raise ConditionError(f"{where}: trường '{name}' không có ở loại bản ghi {record}; có: "
                                 f"{', '.join(sorted(fields))} / unknown field")
        return fields[name]

    def _compare(self, raw: dict, record: str, where: str, label) -> Compare:
        spec = self._field(raw["field"], record, where)
        where = f"{where}, trường / field '{spec.name}'"
        ops = set(raw) - {"field", "label"}
        if len(ops) != 1 or not ops <= set(COMPARISONS):
            raise ConditionError(f"{where}: cần đúng một phép so sánh trong {', '.join(COMPARISONS)}; "
                                 f"có {sorted(ops)} / needs exactly one comparison")
        op = ops.pop()
        value = raw[op]
        if op == "filled":
            if not isinstance(value, bool):
                raise ConditionError(f"{where}: 'filled' nhận true hoặc false / 'filled' takes true or false")
            return Compare(spec.name, op, Literal(value), spec.kind, label)
        operand = self.operand(value, record, where, listy=op in ("in", "not_in"))
        if op in ("lt", "le", "gt", "ge") and spec.kind != "number":
            raise ConditionError(f"{where}: '{op}' chỉ dùng cho trường số / '{op}' needs a number field")
        self._check_literals(spec, operand, where)
        return Compare(spec.name, op, operand, spec.kind, label)

    def _check_literals(self, spec, operand, where: str) -> None:
        values = None
        if isinstance(operand, Literal):
            values = operand.value
        elif isinstance(operand, Param):
            values = self.parameters[operand.name].default
        if values is None or operand.__class__ is Param and operand.keyed_by:
            return
        values = values if isinstance(values, list) else [values]
        for v in values:
            if v is None:
                raise ConditionError(f"{where}: không so sánh với giá trị rỗng; dùng 'filled: false' "
                                     "/ do not compare with null; use 'filled: false'")
            if spec.kind == "choice" and spec.values in self.lists and v not in self.lists[spec.values].codes:
                raise ConditionError(f"{where}: giá trị '{v}' không có trong danh sách {spec.values} "
                                     f"({', '.join(self.lists[spec.values].codes)}) / not in the value list")
            if spec.kind == "boolean" and not isinstance(v, bool):
                raise ConditionError(f"{where}: trường đúng/sai cần true hoặc false, không phải '{v}' "
                                     "/ a yes/no field needs true or false")
            if spec.kind == "number" and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ConditionError(f"{where}: cần một số, không phải '{v}' / a number is expected")

    def operand(self, raw, record: str, where: str, listy: bool = False):
        if isinstance(raw, dict):
            keys = set(raw)
            if keys == {"param"}:
                name = raw["param"]
                if name not in self.parameters:
                    raise ConditionError(f"{where}: tham số '{name}' chưa khai báo trong 'parameters' "
                                         "/ parameter not declared")
                p = self.parameters[name]
                if p.keyed_by:
                    self._field(p.keyed_by, record, where)
                if listy != isinstance(p.default, list):
                    raise ConditionError(f"{where}: tham số '{name}' phải là "
                                         f"{'một danh sách' if listy else 'một giá trị'} / parameter "
                                         f"must be {'a list' if listy else 'a single value'}")
                return Param(name, p.keyed_by)
            if keys == {"field"}:
                spec = self._field(raw["field"], record, where)
                return FieldRef(spec.name)
            if len(keys) == 1 and keys <= {"mul", "min", "max"}:
                op = keys.pop()
                args = raw[op]
                if not isinstance(args, list) or len(args) < 2:
                    raise ConditionError(f"{where}: '{op}' cần ít nhất hai giá trị / '{op}' needs two or "
                                         "more operands")
                return Arith(op, tuple(self.operand(a, record, where) for a in args))
            raise ConditionError(f"{where}: giá trị {raw!r} không hợp lệ; dùng một hằng số, param, field, "
                                 "mul, min hoặc max / invalid operand")
        if listy != isinstance(raw, list):
            raise ConditionError(f"{where}: cần {'một danh sách' if listy else 'một giá trị'}, nhận "
                                 f"{raw!r} / expected {'a list' if listy else 'a single value'}")
        if listy and any(isinstance(v, (dict, list)) for v in raw):
            raise ConditionError(f"{where}: danh sách chỉ chứa hằng số / a list holds constants only")
        return Literal(raw)

    def _spatial_common(self, raw, allowed: set[str], records: tuple[str, ...], where: str):
        if not isinstance(raw, dict):
            raise ConditionError(f"{where}: cần một bảng khóa/giá trị / needs a mapping")
        unknown = set(raw) - allowed
        if unknown:
            raise ConditionError(f"{where}: khóa lạ {sorted(unknown)} / unknown keys")
        other = raw.get("record")
        if other not in records:
            raise ConditionError(f"{where}: 'record' phải là một trong {', '.join(records)} / "
                                 "'record' must be one of those")
        return other

    def _near(self, raw, record: str, where: str, names: set[str], label) -> Near:
        other = self._spatial_common(raw, {"record", "closer_than_m", "where", "differ_in", "as"},
                                     NEAR_RECORDS, where)
        if not RECORDS[record].is_point:
            raise ConditionError(f"{where}: 'near' chỉ dùng cho bản ghi dạng điểm / 'near' needs a point record")
        if "closer_than_m" not in raw:
            raise ConditionError(f"{where}: thiếu 'closer_than_m' / 'closer_than_m' is missing")
        distance = self.operand(raw["closer_than_m"], record, where)
        differ = raw.get("differ_in") or []
        if not isinstance(differ, list):
            raise ConditionError(f"{where}: 'differ_in' cần một danh sách trường / needs a list of fields")
        for name in differ:
            self._field(name, record, where)
            self._field(name, other, where)
        cond = (self.condition(raw["where"], other, f"{where} > where", set())
                if raw.get("where") is not None else None)
        name = self._name(raw.get("as", "near"), names, where)
        return Near(other, distance, cond, tuple(differ), name, label)

    def _intersects(self, raw, record: str, where: str, names: set[str], label) -> Intersects:
        other = self._spatial_common(raw, {"record", "where", "as"}, INTERSECT_RECORDS, where)
        cond = (self.condition(raw["where"], other, f"{where} > where", set())
                if raw.get("where") is not None else None)
        name = self._name(raw.get("as", "intersects"), names, where)
        return Intersects(other, cond, name, label)

    @staticmethod
    def _name(name, names: set[str], where: str) -> str:
        if not isinstance(name, str) or not name.isidentifier():
            raise ConditionError(f"{where}: 'as' phải là một tên đơn giản / 'as' must be a simple name")
        if name in names:
            raise ConditionError(f"{where}: tên '{name}' đã dùng / name '{name}' used twice")
        names.add(name)
        return name
