"""Building small databases for the rule tests: records placed at exact distances."""

from __future__ import annotations

import shutil

import pytest
from pyproj import Geod
from shapely.geometry import LineString, Polygon
from sqlalchemy import text

from hatang_desktop.core.model import FibreRoute, Pole, PoleAttachment, Site, SiteTenant, Zone
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.storage.database import Database

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="session")
def province_template(tmp_path_factory):
    """An empty Hà Tĩnh database made once; each test gets a copy (loading communes is slow)."""
    path = tmp_path_factory.mktemp("rules") / "template.db"
    init_province_database(path, "42", user="tester").close()
    return path


@pytest.fixture
def rules_db(province_template, tmp_path):
    target = tmp_path / "rules.db"
    shutil.copyfile(province_template, target)
    db = Database.open(target)
    db.user = "tester"
    yield db
    db.close()


def communes(db, n: int = 2) -> list[tuple[str, float, float]]:
    with db.session() as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT code, centre_lon, centre_lat FROM admin_units WHERE level = 'commune' AND "
            "centre_lon IS NOT NULL ORDER BY code LIMIT :n"), {"n": n})]


def offset(lon: float, lat: float, east_m: float, north_m: float = 0.0) -> tuple[float, float]:
    """The point `east_m` east then `north_m` north of (lon, lat), on the ellipsoid."""
    if east_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 90 if east_m > 0 else 270, abs(east_m))
    if north_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 0 if north_m > 0 else 180, abs(north_m))
    return lon, lat


class Builder:
    """Adds records in one operation each; positions are metres from a commune centre."""

    def __init__(self, db, commune: tuple[str, float, float]):
        self.db = db
        self.code, self.lon0, self.lat0 = commune
        self.n = 0

    def at(self, east_m: float, north_m: float = 0.0) -> tuple[float, float]:
        return offset(self.lon0, self.lat0, east_m, north_m)

    def pole(self, east_m: float, north_m: float = 0.0, *, owner_kind: str = "power",
             operator: str | None = None, carries_power: bool | None = None, **attachment) -> tuple[str, str | None]:
        """A pole, with one attachment when attachment fields are given: (pole uuid, attachment uuid)."""
        self.n += 1
        lon, lat = self.at(east_m, north_m)
        with self.db.operation("test pole") as s:
            pole = Pole(code=f"T-{self.n:04d}", owner_kind=owner_kind,
                        owner_operator_code=operator if owner_kind == "operator" else None,
                        lat=lat, lon=lon, commune_code=self.code,
                        carries_power=owner_kind == "power" if carries_power is None else carries_power)
            s.add(pole)
            s.flush()
            att_uuid = None
            if attachment:
                fields = dict(operator_code="VTL", cable_count=1, cable_type="fibre", lowest_height_m=6.0,
                              situation="along_road", tagged=True, condition="ok", box_count=0)
                fields.update(attachment)
                att = PoleAttachment(pole_uuid=pole.uuid, **fields)
                s.add(att)
                s.flush()
                att_uuid = att.uuid
            return pole.uuid, att_uuid

    def site(self, east_m: float, north_m: float = 0.0, *, operator: str = "VTL",
             tenants: tuple[str, ...] | None = None, techs=(False, False, True, False), **fields) -> str:
        self.n += 1
        lon, lat = self.at(east_m, north_m)
        values = dict(tower_type="ground_tower", height_m=40.0, status="operating",
                      in_passive_plan=True, permit_no="1/GPXD")
        values.update(fields)
        with self.db.operation("test site") as s:
            site = Site(operator_code=operator, site_code=f"S{self.n:04d}", lat=lat, lon=lon,
                        commune_code=self.code, **values)
            s.add(site)
            s.flush()
            for op in tenants or (operator,):
                s.add(SiteTenant(site_uuid=site.uuid, operator_code=op, has_2g=techs[0], has_3g=techs[1],
                                 has_4g=techs[2], has_5g=techs[3]))
            return site.uuid

    def zone(self, east_m: float, north_m: float, size_m: float, kind: str = "undergrounding") -> str:
        self.n += 1
        corners = [self.at(east_m, north_m), self.at(east_m + size_m, north_m),
                   self.at(east_m + size_m, north_m + size_m), self.at(east_m, north_m + size_m)]
        with self.db.operation("test zone") as s:
            z = Zone(code=f"Z{self.n}", name=f"Khu {self.n}", kind=kind, commune_code=self.code)
            z.set_shape(Polygon(corners))
            s.add(z)
            s.flush()
            return z.uuid

    def route(self, points_m: list[tuple[float, float]], method: str = "aerial", operator: str = "VTL") -> str:
        self.n += 1
        with self.db.operation("test route") as s:
            r = FibreRoute(code=f"R{self.n}", operator_code=operator, method=method, commune_code=self.code)
            r.set_shape(LineString([self.at(e, n) for e, n in points_m]))
            s.add(r)
            s.flush()
            return r.uuid

    def update(self, model, uuid: str, **fields) -> None:
        with self.db.operation("test edit") as s:
            obj = s.query(model).filter_by(uuid=uuid).one()
            for k, v in fields.items():
                setattr(obj, k, v)
