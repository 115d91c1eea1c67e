"""Import a GIS file: understand its layers, validate every feature, then merge in one transaction.

Each group of features (a layer, split by geometry kind) is understood as one record type:
points are sites or poles, lines fibre routes, polygons zones or administrative boundaries. The
attribute mapping is the Excel import's header matching (handtyped.py), the validation is the
forms' (workbook_rows.parse_sheet); the matching of existing records, the three-way merge and the
import flow are the one merge's (exchange/merge.py) that the Excel import feeds too. Only the
geometry checks and the attribute sources are GIS-specific.
Nothing is written when any feature has a problem, or in a dry run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from sqlalchemy import text

from ..cancel import Cancel, checkpoint
from ..errors import InvalidInputError
from ..exchange.export import province_communes
from ..exchange.handtyped import match_existing, split_tenants
from ..exchange.commune_fill import fill_communes
from ..exchange.merge import COUNT_KEYS, ImportResult, plan_import, run_import, write_settled
from ..exchange.merge_checks import check_duplicates, check_parents, check_unique, complete_inserts, drop_implied_rows
from ..exchange.merge_write import HeldTransaction
from ..exchange.problems import ImportRefused, Problem, feature_problem
from ..exchange.workbook_rows import WorkbookRow
from ..forms import Forms, load_forms
from ..perf import gc_paused
from ..storage.database import Database
from . import opencellid, reference
from .boundaries import AdminIndex, boundary_changes
from .features import (BoundaryUpdate, boundary_updates, cell_rows, feature_namer, group_rows, match_cells,
                       match_zones, reference_rows, tenant_rows)
from .reader import read_groups
from .understand import AS_CHOICES, GroupUnderstanding, specs_for, understand

Progress = Callable[[str, float], None]

# The name the GIS import's callers know the merge's refusal by.
InvalidGisFileError = ImportRefused


@dataclass
class GisImportResult(ImportResult):
    """The merge's result (merge.ImportResult) with what the GIS reader understood of the file:
    its groups of features, the admin boundaries it updates, the reference points left out."""
    path: Path | None = None
    groups: list[GroupUnderstanding] = field(default_factory=list)
    boundaries: list[BoundaryUpdate] = field(default_factory=list)
    skipped: list[reference.Skipped] = field(default_factory=list)   # reference points left out, and why

    @property
    def has_changes(self) -> bool:
        return super().has_changes or any(b.action != "unchanged" for b in self.boundaries)

    def as_json(self) -> dict:
        return {**self.total, "by_type": self.counts, "errors": [p.as_dict() for p in self.problems],
                "layers": [g.as_dict() for g in self.groups], "warnings": self.warnings,
                "skipped": [k.as_dict() for k in self.skipped],
                "boundaries": [b.as_dict() for b in self.boundaries],
                "applied": self.applied, "backup": str(self.backup) if self.backup else None}


def _recheck_boundaries(here, result: GisImportResult) -> None:
    """The boundaries' changes against the admin units as they are now: under the write lock
    when importing, so a figure written since the file was read is compared, not overwritten
    unseen."""
    if not result.boundaries:
        return
    with here.session() as s:
        rows = {r.code: r for r in s.execute(text(
            "SELECT code, boundary, boundary_synthetic, population, households, area_type FROM admin_units "
            "WHERE deleted = 0"))}
    for b in result.boundaries:
        b.changes = boundary_changes(rows.get(b.code), b.geometry, b.synthetic, b.attributes)
        b.action = "update" if b.changes else "unchanged"


# -- the import -----------------------------------------------------------------------------

@gc_paused()
def preview_gis(db: Database, path: str | Path, *, as_record: str | None = None,
                mapping: dict[str, str | None] | None = None, forms: Forms | None = None,
                progress: Progress | None = None, include_untyped: bool = False,
                accept_name_match: bool = False, cancel: Cancel | None = None) -> GisImportResult:
    """Read, understand and validate a file, and plan the merge; write nothing."""
    forms = forms or load_forms()
    result, rows = _read(db, path, as_record, mapping, forms, progress or (lambda _s, _f: None),
                         accept_name_match, include_untyped=include_untyped, cancel=cancel)
    checkpoint(cancel)
    if not result.problems:
        _plan(db, result, rows, forms, progress or (lambda _s, _f: None))
    return result


def _read(db: Database, path: str | Path, as_record: str | None, mapping: dict[str, str | None] | None,
          forms: Forms, report: Progress, accept_name_match: bool = False, *, include_untyped: bool = False,
          cancel: Cancel | None = None, columnwise: bool = True) -> tuple[GisImportResult, list[WorkbookRow]]:
    """Read, understand and validate a file: the result (groups, problems, boundaries,
    warnings) and the rows to merge. Reads nothing of the records a merge merges with.
    `columnwise=False` validates cell by cell and row by row (the tests compare the two)."""
    path = Path(path)
    if as_record is not None and as_record not in AS_CHOICES:
        raise InvalidInputError(f"--as {as_record}: dùng / use sites, poles, routes, zones, boundaries")
    report("đọc tệp / reading", 0.05)
    with db.session() as s:
        communes = province_communes(s)
        province = s.execute(text("SELECT value FROM meta WHERE key = 'province_code'")).scalar() or ""
    # The province's meridian reads coordinates that look like VN-2000 but declare no CRS.
    groups = read_groups(path, province=province or None)
    admin = AdminIndex(db)
    specs = specs_for(forms, communes)
    problems: list[Problem] = []
    understood: list[GroupUnderstanding] = []
    rows: list[WorkbookRow] = []
    boundaries: list[BoundaryUpdate] = []
    skipped: list[reference.Skipped] = []
    warnings: list[str] = []
    report("kiểm tra / validating", 0.2)
    for g in groups:
        checkpoint(cancel)
        warnings += g.extra.get("warnings", [])   # how the reader read it (encoding, CRS guessed, kinds split)
        if not len(g):
            continue                              # a layer of no features: its warning says so
        if g.kind == "none" and opencellid.is_opencellid(g.columns):
            u = GroupUnderstanding(g.layer, "none", len(g), "sites",
                                   {c: c if c.lower() in {k.lower() for k in opencellid.COLUMNS} else None
                                    for c in g.columns},
                                   [(c, c) for c in opencellid.COLUMNS], ["danh sách ô OpenCelliD / OpenCelliD cells"])
            understood.append(u)
            rows += cell_rows(g, forms, communes, problems)
            continue
        u = understand(g, specs, admin, as_record=as_record, overrides=mapping)
        understood.append(u)
        if u.record is None:
            warnings.append(f"lớp '{g.layer}' ({g.kind}, {len(g)} đối tượng) bị bỏ qua / layer skipped")
            continue
        label = feature_namer(g, u)
        for i, done in sorted(g.extra.get("repairs", {}).items()):
            # Repaired geometries (reader.geometry.repair), named as a problem would be.
            warnings += [str(feature_problem(g.layer, g.index[i], label(i), None, None, note)) for note in done]
        if u.record == "boundaries":
            boundaries += boundary_updates(g, u, admin, problems, warnings, label, accept_name_match)
            continue
        if u.reference:
            rows += reference_rows(db, g, u, specs["sites"], forms, communes, province, problems, path,
                                    include_untyped, skipped, columnwise)
            continue
        rows += group_rows(g, u, specs[u.record], forms, communes, province, problems, label, columnwise)
    has_tenant_layer = any(r.record == "site_tenants" for r in rows)
    site_rows = [r for r in rows if r.record == "sites"]
    if has_tenant_layer:
        for r in site_rows:
            r.values.pop("technologies", None)
    else:
        # A file without a tenants layer: tenants from the site's summary attribute, else one
        # tenant per site for its own operator (with a "Công nghệ" column's technologies).
        summary_sites = [r for r in site_rows if "tenants" in r.extra]
        others = [r for r in rows if not (r.record == "sites" and "tenants" in r.extra)]
        rows = split_tenants(others) + summary_sites + tenant_rows(summary_sites)
    for r in rows:
        warnings += r.extra.get("notes", [])
    return GisImportResult({}, problems, [], path=path, groups=understood, boundaries=boundaries,
                           warnings=warnings, skipped=skipped), rows


def _plan(here, result: GisImportResult, rows: list[WorkbookRow], forms: Forms, report: Progress) -> None:
    """Match the rows to records, check them against the database and plan the merge into
    `result` (its plans and counts, or its problems). `here` is the database, or the write
    transaction the import happens in (exchange.importer.HeldTransaction), as for a workbook."""
    problems = result.problems
    report("khớp bản ghi / matching", 0.4)
    known = reference.match(here, rows)   # reference points already here: unchanged
    match_cells(here, rows)
    match_existing(here, rows)
    drop_implied_rows(rows)
    match_zones(here, rows)
    for r in rows:
        if r.extra.get("synthetic_code") and not r.is_new:
            r.values.pop("site_code", None)  # a made-up code says nothing about a site we know
            if r.extra.get("cells"):
                # A cell list's first operator is not the site's owner (an owner without a
                # technology of its own has no cell): the site keeps its owner.
                r.values.pop("operator_code", None)
    found: list[Problem] = []
    check_duplicates(rows, found)
    if not found:
        check_parents(here, rows, forms, found)
    _add_problems(problems, found)
    if problems:
        return
    report("lập kế hoạch / planning", 0.5)
    result.plans, result.counts = plan_import(here, rows, {}, forms)
    fill_communes(here, result.plans, forms)
    if known:
        c = result.counts.setdefault("sites", dict.fromkeys(COUNT_KEYS, 0))
        c["unchanged"] = c.get("unchanged", 0) + known
    _add_problems(problems, complete_inserts(result.plans, forms) + check_unique(here, result.plans, forms))
    if problems:
        result.plans, result.counts = [], {}
        return
    _keep_same_shapes(result)
    _recheck_boundaries(here, result)
    if result.boundaries:
        result.counts["boundaries"] = dict.fromkeys(COUNT_KEYS, 0) | {
            "updated": sum(b.action == "update" for b in result.boundaries),
            "unchanged": sum(b.action == "unchanged" for b in result.boundaries)}


def _add_problems(problems: list[Problem], found: list[Problem]) -> None:
    for p in found:
        problems.append(feature_problem(p.sheet, p.row, None, p.column, p.value, p.message))


def _keep_same_shapes(result: GisImportResult) -> None:
    """A shape that only differs in vertex order or ring direction (GeoJSON writes outer rings
    counter-clockwise, RFC 7946) is the same shape: keep the stored one, report no change."""
    for p in result.plans:
        if p.action != "update" or not p.changes.get("geom") or not (p.local or {}).get("geom"):
            continue
        a = shapely.normalize(shapely.from_wkt(p.changes["geom"]))
        b = shapely.normalize(shapely.from_wkt(p.local["geom"]))
        # Both sides are 7-decimal text: a coordinate stored as 18.64067905 reads ...791 here
        # and ...790 from a file that held it to 9 decimals. One unit of the 7th is the same point.
        if a.equals_exact(b, 1.5e-7):
            del p.changes["geom"]
            if not p.changes:
                c = result.counts[p.row.record]
                p.action = "unchanged"
                c["updated"] -= 1
                if not p.conflicts:
                    c["unchanged"] += 1


@gc_paused()
def import_gis(db: Database, path: str | Path, *, dry_run: bool = False, as_record: str | None = None,
               mapping: dict[str, str | None] | None = None, forms: Forms | None = None, user: str | None = None,
               progress: Progress | None = None, include_untyped: bool = False, backup: bool = True,
               accept_name_match: bool = False, cancel: Cancel | None = None
               ) -> GisImportResult:
    """Read a GIS file and feed it to the merge (merge.run_import). `accept_name_match` takes the
    admin unit a boundary's name fits when its code is not a 2025 code (the problems'
    suggestions). `cancel()` true stops it (Cancelled), nothing written."""
    report = progress or (lambda _s, _f: None)
    forms = forms or load_forms()
    result, rows = _read(db, path, as_record, mapping, forms, report, accept_name_match,
                         include_untyped=include_untyped, cancel=cancel)
    if result.problems:
        raise InvalidGisFileError(result.path, result.problems)

    def planned(here) -> GisImportResult:
        _plan(here, result, rows, forms, report)
        if result.problems:
            raise InvalidGisFileError(result.path, result.problems)
        return result

    source = f"gis:{result.path.name}"
    return run_import(db, result.path, kind="layer", description=f"Nhập dữ liệu GIS {result.path.name}",
                      source=source, plan=planned, write=lambda s, r: _write(db, s, r, forms, source, cancel),
                      dry_run=dry_run, backup=backup, user=user, report=report, cancel=cancel,
                      scope="")   # a GIS file may hold any commune's records: it queues on the province


def _write(db: Database, s, result: GisImportResult, forms: Forms, source: str, cancel: Cancel | None = None) -> None:
    """The plans, the way every import writes them (merge.write_settled), then any boundaries."""
    write_settled(s, HeldTransaction(db, s), result, {}, forms, source=source, origin=result.path.name, cancel=cancel)
    if any(b.action == "update" for b in result.boundaries):
        from ..model import AdminUnit

        # The units in one query per 900 codes, not one each: every query would first flush the
        # unit before it (and its change log), a country's 3,300 communes one by one.
        codes = [b.code for b in result.boundaries if b.action == "update"]
        units = {}
        for i in range(0, len(codes), 900):
            units.update((u.code, u) for u in s.query(AdminUnit).filter(AdminUnit.code.in_(codes[i:i + 900])))
        for b in result.boundaries:
            if b.action != "update":
                continue
            unit = units[b.code]
            if "boundary_km2" in b.changes:
                unit.set_shape(b.geometry)
                unit.boundary_synthetic = b.synthetic
            for key in ("population", "households", "area_type"):
                if key in b.changes:
                    setattr(unit, key, b.changes[key][1])
