"""Computing every indicator per commune (numerator and denominator), vectorised.

Per-commune arrays have one extra slot at the end for records with no (or an unknown) commune:
they count in the province's figures and in no commune's. A rate for any set of communes is
sum(numerators) / sum(denominators), so the province, a commune and a plan's scope (a former
district) all come from the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from ..geo.geodesy import geodesic_distance_m
from .catalogue import FIGURE_KEYS, METHODS, TECHNOLOGIES
from .coverage_model import AREA_TYPES, CoverageModel
from .data import Dataset
from .geometry import Plane, candidate_pairs, near_lines, points_in_polygons, within
from .params import Params

TECH = {t: i for i, t in enumerate(TECHNOLOGIES)}


@dataclass
class VillageCoverage:
    in_scope: np.ndarray  # counted in the village rates (power_only may exclude some)
    mobile_model: np.ndarray  # centre within a 4G/5G radius
    mobile: np.ndarray  # surveyed status where present, else the model
    mobile_surveyed: np.ndarray  # True where the commune's survey decided
    ftth_model: np.ndarray
    ftth: np.ndarray
    ftth_surveyed: np.ndarray
    covered_5g: np.ndarray  # model only
    nearest_site: np.ndarray  # site index (operating, any technology), -1 when none
    nearest_m: np.ndarray


@dataclass
class Results:
    dataset: Dataset
    params: Params
    model: CoverageModel
    num: dict[str, np.ndarray] = field(default_factory=dict)  # per commune (+1)
    den: dict[str, np.ndarray] = field(default_factory=dict)  # rates only
    sites_by_operator_tech: np.ndarray | None = None  # [n+1, operators, 4] sites
    fibre_m: np.ndarray | None = None  # [n+1, operators, 3 methods] metres
    villages: VillageCoverage | None = None
    commune_centre_5g: np.ndarray | None = None  # bool per commune
    zone_has_5g: np.ndarray | None = None  # bool per zone (of the params' kinds; others False)
    zone_counted: np.ndarray | None = None  # bool per zone: of the params' kinds
    site_in_zone: np.ndarray | None = None  # bool per site: 5G and inside a counted zone

    @property
    def n_units(self) -> int:
        return len(self.dataset.communes) + 1


def _per_commune(index: np.ndarray, n_units: int, weights=None) -> np.ndarray:
    return np.bincount(index, weights=weights, minlength=n_units).astype(float)


def _radii(model: CoverageModel, area_type: np.ndarray, technology: str) -> np.ndarray:
    out = np.full(len(area_type), model.radius(None, technology))
    for area in AREA_TYPES:
        out[area_type == area] = model.radius(area, technology)
    return out


@dataclass
class Geo:
    """The spatial joins: independent of the definitions (Params), so computed once per dataset."""
    mobile_model: np.ndarray
    covered_5g: np.ndarray
    ftth_model: np.ndarray
    mobile: np.ndarray
    nearest_site: np.ndarray
    nearest_m: np.ndarray
    centre_5g: np.ndarray
    site_zone: tuple[np.ndarray, np.ndarray]  # (5G site index, zone index) for sites inside zones


def spatial_joins(ds: Dataset, model: CoverageModel) -> Geo:
    s, v, c, z = ds.sites, ds.villages, ds.communes, ds.zones
    plane = Plane(np.concatenate([s.lat, v.lat, c.lat]))
    site_tree = shapely.STRtree(plane.points(s.lat, s.lon))
    v_pts = plane.points(v.lat, v.lon)
    techs = tuple(dict.fromkeys(model.mobile_broadband + ("5G",)))
    radius = {t: _radii(model, v.area_type, t) for t in techs}
    # One tree query for every technology: candidates within the largest radius, then per technology.
    vi, si = candidate_pairs(plane, v_pts, v.lat, np.max([radius[t] for t in techs], axis=0), site_tree)
    per_tech = {}
    for tech in techs:
        on = s.tech[si, TECH[tech]]
        a, b = vi[on], si[on]
        ok = within(v.lat[a], v.lon[a], s.lat[b], s.lon[b], radius[tech][a])
        hit = np.zeros(len(v), dtype=bool)
        hit[a[ok]] = True
        per_tech[tech] = hit
    mobile_model = np.zeros(len(v), dtype=bool)
    for tech in model.mobile_broadband:
        mobile_model |= per_tech[tech]
    mobile = np.where(v.mobile_surveyed >= 0, v.mobile_surveyed == 1, mobile_model)

    need = v.ftth_surveyed < 0
    ftth_model = np.zeros(len(v), dtype=bool)
    ftth_model[need] = near_lines(plane, v.lat[need], v.lon[need], model.ftth_route_distance_m, ds.access_routes)

    uncovered = np.flatnonzero(~mobile)
    near_idx = np.full(len(v), -1, dtype=np.int64)
    near_m = np.full(len(v), np.nan)
    if len(uncovered) and len(s):
        pi, ti = site_tree.query_nearest(v_pts[uncovered], all_matches=False)
        near_idx[uncovered[pi]] = ti
        near_m[uncovered[pi]] = geodesic_distance_m(v.lat[uncovered[pi]], v.lon[uncovered[pi]], s.lat[ti], s.lon[ti])

    has_centre = np.flatnonzero(np.isfinite(c.lat))
    centre_5g = np.zeros(len(c), dtype=bool)
    r5 = _radii(model, c.area_type[has_centre], "5G")
    ci, si = candidate_pairs(plane, plane.points(c.lat[has_centre], c.lon[has_centre]), c.lat[has_centre], r5,
                             site_tree)
    on = s.tech[si, TECH["5G"]]
    ci, si = ci[on], si[on]
    ok = within(c.lat[has_centre][ci], c.lon[has_centre][ci], s.lat[si], s.lon[si], r5[ci])
    centre_5g[has_centre[ci[ok]]] = True

    i5 = np.flatnonzero(s.tech[:, TECH["5G"]])
    pi, zi = points_in_polygons(s.lat[i5], s.lon[i5], z.geom)
    return Geo(mobile_model, per_tech["5G"], ftth_model, mobile, near_idx, near_m, centre_5g, (i5[pi], zi))


def compute(ds: Dataset, params: Params, model: CoverageModel, geo: Geo | None = None) -> Results:
    """Every indicator per commune; pass `geo` (spatial_joins of the same dataset and model) to
    compute another definition set without redoing the spatial joins."""
    geo = spatial_joins(ds, model) if geo is None else geo
    r = Results(ds, params, model)
    n = r.n_units
    s, v, c, z = ds.sites, ds.villages, ds.communes, ds.zones

    # --- sites: sharing, operator x technology, 5G
    r.num["operating_sites"] = _per_commune(s.commune, n)
    shared = s.n_operators >= params.min_operators
    r.num["bts_sharing_rate"] = _per_commune(s.commune, n, shared)
    r.den["bts_sharing_rate"] = r.num["operating_sites"].copy()
    has5 = s.tech[:, TECH["5G"]]
    r.num["sites_5g"] = _per_commune(s.commune, n, has5)
    n_ops = max(len(ds.operators), 1)
    by = np.zeros((n, n_ops, 4))
    t_commune = s.commune[s.tenant_site]
    for k in range(4):  # per technology: one bincount over all tenants
        flat = np.bincount(t_commune * n_ops + s.tenant_operator, weights=s.tenant_tech[:, k],
                           minlength=n * n_ops)
        by[:, :, k] = flat.reshape(n, n_ops)
    r.sites_by_operator_tech = by

    # --- zones: 5G sites inside (boundary included), zones with 5G, of the kinds counted
    counted = np.isin(z.kind.astype(str), params.zone_kinds) if len(z) else np.zeros(0, dtype=bool)
    site_idx, zone_idx = geo.site_zone
    keep = counted[zone_idx] if len(zone_idx) else np.zeros(0, dtype=bool)
    site_in_zone = np.zeros(len(s), dtype=bool)
    site_in_zone[site_idx[keep]] = True
    zone_has = np.zeros(len(z), dtype=bool)
    zone_has[zone_idx[keep]] = True
    r.site_in_zone, r.zone_has_5g, r.zone_counted = site_in_zone, zone_has, counted
    r.num["sites_5g_in_zones"] = _per_commune(s.commune, n, site_in_zone)
    r.num["zones_with_5g_rate"] = _per_commune(z.commune, n, zone_has & counted)
    r.den["zones_with_5g_rate"] = _per_commune(z.commune, n, counted)

    # --- villages: mobile broadband, FTTH, 5G population
    ftth_surveyed = v.ftth_surveyed >= 0
    ftth = np.where(ftth_surveyed, v.ftth_surveyed == 1, geo.ftth_model)
    in_scope = (v.has_power != 0) if params.power_only else np.ones(len(v), dtype=bool)
    mobile = geo.mobile
    r.villages = VillageCoverage(in_scope, geo.mobile_model, mobile, v.mobile_surveyed >= 0, geo.ftth_model, ftth,
                                 ftth_surveyed, geo.covered_5g, geo.nearest_site, geo.nearest_m)
    r.den["village_mobile_broadband_rate"] = _per_commune(v.commune, n, in_scope)
    r.num["village_mobile_broadband_rate"] = _per_commune(v.commune, n, in_scope & mobile)
    r.den["village_ftth_rate"] = r.den["village_mobile_broadband_rate"].copy()
    r.num["village_ftth_rate"] = _per_commune(v.commune, n, in_scope & ftth)
    pop = np.nan_to_num(v.population, nan=0.0)
    known = np.isfinite(v.population)
    r.den["population_5g_rate"] = _per_commune(v.commune, n, np.where(known, pop, 0.0))
    r.num["population_5g_rate"] = _per_commune(v.commune, n, np.where(known & geo.covered_5g, pop, 0.0))

    # --- commune centres under 5G
    has_centre = np.isfinite(c.lat)
    r.commune_centre_5g = geo.centre_5g
    idx = np.arange(len(c))
    r.den["commune_centres_5g_rate"] = _per_commune(idx, n, has_centre)
    r.num["commune_centres_5g_rate"] = _per_commune(idx, n, geo.centre_5g)

    # --- poles
    g = ds.pole_groups
    counted_poles = g[:, 2] * ((g[:, 1] >= 1) if params.pole_scope == "with_cables" else 1)
    r.den["shared_poles_rate"] = _per_commune(g[:, 0].astype(np.int64), n, counted_poles)
    r.num["shared_poles_rate"] = _per_commune(g[:, 0].astype(np.int64), n,
                                              g[:, 2] * (g[:, 1] >= params.pole_min_operators))

    # --- fibre
    f = ds.fibre_groups
    fib = np.zeros((n, n_ops, len(METHODS)))
    if len(f):
        np.add.at(fib, (f[:, 0].astype(np.int64), f[:, 1].astype(np.int64), f[:, 2].astype(np.int64)), f[:, 3])
    r.fibre_m = fib
    total = fib.sum(axis=(1, 2))
    r.num["fibre_km"] = total / 1000.0
    r.num["fibre_underground_rate"] = fib[:, :, 1:].sum(axis=(1, 2))
    r.den["fibre_underground_rate"] = total
    return r


# --------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class Value:
    actual: float | None  # None: no data (empty denominator, no figure entered)
    numerator: float | None = None
    denominator: float | None = None


def unit_mask(results: Results, communes: frozenset[str] | set[str] | None) -> np.ndarray:
    """Per-commune slots to add up: all (province, including records without a commune) or a set."""
    codes = results.dataset.communes.code
    if communes is None:
        return np.ones(results.n_units, dtype=bool)
    return np.append(np.isin(codes.astype(str), sorted(communes)), False)


def value(results: Results, key: str, mask: np.ndarray) -> Value:
    num = float(results.num[key][mask].sum())
    if key not in results.den:
        return Value(num, num, None)
    den = float(results.den[key][mask].sum())
    return Value(100.0 * num / den if den > 0 else None, num, den)


def commune_population(results: Results) -> np.ndarray:
    """Commune population: its own figure, else the sum of its villages' (nan when neither)."""
    ds = results.dataset
    v = ds.villages
    from_villages = np.bincount(v.commune, weights=np.nan_to_num(v.population), minlength=results.n_units)[:-1]
    has_villages = np.bincount(v.commune, weights=np.isfinite(v.population), minlength=results.n_units)[:-1] > 0
    pop = np.where(np.isfinite(ds.communes.population), ds.communes.population,
                   np.where(has_villages, from_villages, np.nan))
    return pop


def figure_value(results: Results, key: str, year: int, communes: frozenset[str] | set[str] | None,
                 whole_province: bool) -> Value:
    """A department figure for a commune set: a figure entered for the unit itself wins (the
    province, or the one commune asked for); else the population-weighted mean of the communes'
    figures (a plain mean where a population is missing)."""
    assert key in FIGURE_KEYS
    ds = results.dataset
    entered = {(u, y, k): val for u, y, k, val in ds.figures}
    if whole_province and (ds.province_code, year, key) in entered:
        return Value(entered[(ds.province_code, year, key)])
    codes = ds.communes.code.astype(str)
    pop = commune_population(results)
    vals, weights = [], []
    for i, code in enumerate(codes) if communes is None else ((i, cd) for i, cd in enumerate(codes) if cd in communes):
        got = entered.get((code, year, key))
        if got is not None:
            vals.append(got)
            weights.append(pop[i])
    if not vals:
        return Value(None)
    w = np.array(weights, dtype=float)
    if np.all(np.isfinite(w)) and w.sum() > 0:
        return Value(float(np.dot(vals, w) / w.sum()))
    return Value(float(np.mean(vals)))
