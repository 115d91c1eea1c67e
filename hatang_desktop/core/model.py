"""The domain model as typed SQLAlchemy 2 ORM classes.

The tables themselves are created by the migrations in `storage/` (one frozen SQL history), and a
test checks that these classes and the migrated schema agree column for column.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.engine import processors
from sqlalchemy.orm import DeclarativeBase, declared_attr, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


# Column types that bind the same values on SQLite and on PostgreSQL (issue 19): flags are INTEGER
# 0/1 and times are TEXT on both engines, byte for byte what SQLAlchemy's SQLite Boolean, DateTime
# and Date stored before, so existing files read the same and a row is the same dict either way.


class Flag(TypeDecorator):
    """A bool stored as INTEGER 0/1 (None stays NULL)."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value not in (True, False):  # 0 and 1 included; anything else is a caller's mistake
            raise TypeError(f"a flag is True, False or None, not {value!r}")
        return int(value)

    def process_result_value(self, value, dialect):
        return None if value is None else bool(value)


class TextDateTime(TypeDecorator):
    """A datetime stored as TEXT `YYYY-MM-DD HH:MM:SS.ffffff` (a date as its midnight)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
                    f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}")
        if isinstance(value, dt.date):
            return f"{value.year:04d}-{value.month:02d}-{value.day:02d} 00:00:00.000000"
        raise TypeError(f"a date and time is a datetime or a date, not {value!r}")

    def process_result_value(self, value, dialect):
        return processors.str_to_datetime(value)


class TextDate(TypeDecorator):
    """A date stored as TEXT `YYYY-MM-DD` (a datetime keeps its date)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, dt.date):
            return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        raise TypeError(f"a date is a date, not {value!r}")

    def process_result_value(self, value, dialect):
        return processors.str_to_date(value)


class Base(DeclarativeBase):
    pass


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class SyncIdentity:
    """What lets a record travel between machines: identity, version, who/when/where, tombstone.

    `updated_*` and `source` are filled by the Database's operation() on every flush, so no
    caller can forget them; `version` is bumped by SQLAlchemy on every UPDATE.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(TextDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    deleted: Mapped[bool] = mapped_column(Flag, default=False)

    # Optimistic locking: every UPDATE bumps the version and fails if another writer got there
    # first, which is also the version the Excel three-way merge compares against.
    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}


class HasBBoxGeometry:
    """A line or polygon stored as WKB with its bounding box (what the R*Tree indexes)."""

    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)

    _geom_column = "geom"

    @property
    def shape(self) -> BaseGeometry | None:
        wkb = getattr(self, self._geom_column)
        return shapely.from_wkb(wkb) if wkb else None

    def set_shape(self, geometry: BaseGeometry | None) -> None:
        if geometry is None:
            setattr(self, self._geom_column, None)
            self.min_lon = self.min_lat = self.max_lon = self.max_lat = None
            return
        setattr(self, self._geom_column, shapely.to_wkb(geometry))
        self.min_lon, self.min_lat, self.max_lon, self.max_lat = (float(v) for v in geometry.bounds)


class HasGnssMetadata:
    """How good a position taken from the GPS was (schema 3; see core/gps.py). All None when the
    position was set by hand: whoever moves the point writes `core.gps.NO_GNSS` with it."""

    gnss_accuracy_m: Mapped[float | None] = mapped_column(Float)
    gnss_hdop: Mapped[float | None] = mapped_column(Float)
    gnss_satellites: Mapped[int | None] = mapped_column(Integer)
    gnss_fix_time: Mapped[str | None] = mapped_column(Text)
    gnss_source: Mapped[str | None] = mapped_column(Text)
    gnss_fix_count: Mapped[int | None] = mapped_column(Integer)


class Operator(Base):
    __tablename__ = "operators"
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    brand: Mapped[str] = mapped_column(Text)
    mncs: Mapped[str] = mapped_column(Text, default="")
    colour: Mapped[str] = mapped_column(Text, default="#7f7f7f")


class AdminUnit(SyncIdentity, HasBBoxGeometry, Base):
    __tablename__ = "admin_units"
    _geom_column = "boundary"
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    unit_type: Mapped[str] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    centre_lat: Mapped[float | None] = mapped_column(Float)
    centre_lon: Mapped[float | None] = mapped_column(Float)
    boundary: Mapped[bytes | None] = mapped_column(LargeBinary)
    boundary_synthetic: Mapped[bool] = mapped_column(Flag, default=False)
    area_type: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    has_power: Mapped[bool | None] = mapped_column(Flag)
    mobile_broadband_surveyed: Mapped[bool | None] = mapped_column(Flag)
    ftth_surveyed: Mapped[bool | None] = mapped_column(Flag)


class Site(SyncIdentity, HasGnssMetadata, Base):
    __tablename__ = "sites"
    operator_code: Mapped[str] = mapped_column(ForeignKey("operators.code"))
    site_code: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    tower_type: Mapped[str | None] = mapped_column(Text)
    height_m: Mapped[float | None] = mapped_column(Float)
    building_height_m: Mapped[float | None] = mapped_column(Float)
    owner: Mapped[str | None] = mapped_column(Text)
    permit_no: Mapped[str | None] = mapped_column(Text)
    permit_date: Mapped[dt.date | None] = mapped_column(TextDate)
    in_passive_plan: Mapped[bool] = mapped_column(Flag, default=False)
    in_industrial_zone: Mapped[bool] = mapped_column(Flag, default=False)
    status: Mapped[str] = mapped_column(Text, default="operating")
    note: Mapped[str | None] = mapped_column(Text)
    # Schema 5: where a reference point (a site to verify) came from: the source's id and its
    # tags or attributes as a JSON object (core/gis/reference.py).
    source_ref: Mapped[str | None] = mapped_column(Text)
    source_tags: Mapped[str | None] = mapped_column(Text)

    tenants: Mapped[list[SiteTenant]] = relationship(
        back_populates="site", primaryjoin="Site.uuid == SiteTenant.site_uuid")

    def live_tenants(self) -> list[SiteTenant]:
        return [t for t in self.tenants if not t.deleted]

    @property
    def is_shared(self) -> bool:
        return len({t.operator_code for t in self.live_tenants()}) >= 2

    @property
    def has_5g(self) -> bool:
        return any(t.has_5g for t in self.live_tenants())


class SiteTenant(SyncIdentity, Base):
    __tablename__ = "site_tenants"
    site_uuid: Mapped[str] = mapped_column(ForeignKey("sites.uuid"))
    operator_code: Mapped[str] = mapped_column(ForeignKey("operators.code"))
    tenant_site_code: Mapped[str | None] = mapped_column(Text)
    has_2g: Mapped[bool] = mapped_column(Flag, default=False)
    has_3g: Mapped[bool] = mapped_column(Flag, default=False)
    has_4g: Mapped[bool] = mapped_column(Flag, default=False)
    has_5g: Mapped[bool] = mapped_column(Flag, default=False)

    site: Mapped[Site] = relationship(back_populates="tenants",
                                      primaryjoin="Site.uuid == SiteTenant.site_uuid")

    @property
    def technologies(self) -> list[str]:
        return [t for t, on in (("2G", self.has_2g), ("3G", self.has_3g), ("4G", self.has_4g),
                                ("5G", self.has_5g)) if on]


class Pole(SyncIdentity, HasGnssMetadata, Base):
    __tablename__ = "poles"
    code: Mapped[str] = mapped_column(Text)
    owner_kind: Mapped[str] = mapped_column(Text)
    owner_operator_code: Mapped[str | None] = mapped_column(ForeignKey("operators.code"))
    material: Mapped[str | None] = mapped_column(Text)
    height_m: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    road: Mapped[str | None] = mapped_column(Text)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    carries_power: Mapped[bool] = mapped_column(Flag, default=False)
    note: Mapped[str | None] = mapped_column(Text)

    attachments: Mapped[list[PoleAttachment]] = relationship(
        back_populates="pole", primaryjoin="Pole.uuid == PoleAttachment.pole_uuid")

    @property
    def is_shared(self) -> bool:
        return len({a.operator_code for a in self.attachments if not a.deleted}) >= 2


class PoleAttachment(SyncIdentity, Base):
    __tablename__ = "pole_attachments"
    pole_uuid: Mapped[str] = mapped_column(ForeignKey("poles.uuid"))
    operator_code: Mapped[str] = mapped_column(ForeignKey("operators.code"))
    cable_count: Mapped[int] = mapped_column(Integer, default=1)
    cable_type: Mapped[str] = mapped_column(Text, default="fibre")
    lowest_height_m: Mapped[float | None] = mapped_column(Float)
    situation: Mapped[str | None] = mapped_column(Text)
    tagged: Mapped[bool] = mapped_column(Flag, default=True)
    condition: Mapped[str] = mapped_column(Text, default="ok")
    in_insulating_tube: Mapped[bool | None] = mapped_column(Flag)
    has_height_sign: Mapped[bool | None] = mapped_column(Flag)
    wound_on_pole: Mapped[bool] = mapped_column(Flag, default=False)
    spare_cable_m: Mapped[float | None] = mapped_column(Float)
    box_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)

    pole: Mapped[Pole] = relationship(back_populates="attachments",
                                      primaryjoin="Pole.uuid == PoleAttachment.pole_uuid")


class FibreRoute(SyncIdentity, HasBBoxGeometry, Base):
    __tablename__ = "fibre_routes"
    code: Mapped[str] = mapped_column(Text)
    operator_code: Mapped[str] = mapped_column(ForeignKey("operators.code"))
    co_operators: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text, default="access")
    core_count: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[bytes] = mapped_column(LargeBinary)
    # A route or zone always has a geometry, so its box is never empty (NOT NULL in the schema).
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    length_m: Mapped[float] = mapped_column(Float, default=0.0)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    note: Mapped[str | None] = mapped_column(Text)

    def set_shape(self, geometry: BaseGeometry | None) -> None:
        from .geo.geodesy import geodesic_length_m

        super().set_shape(geometry)
        self.length_m = geodesic_length_m(geometry) if geometry is not None else 0.0


class FibreRoutePole(Base):
    __tablename__ = "fibre_route_poles"
    route_uuid: Mapped[str] = mapped_column(ForeignKey("fibre_routes.uuid"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    pole_uuid: Mapped[str] = mapped_column(ForeignKey("poles.uuid"))


class Zone(SyncIdentity, HasBBoxGeometry, Base):
    __tablename__ = "zones"
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    geom: Mapped[bytes] = mapped_column(LargeBinary)
    # A route or zone always has a geometry, so its box is never empty (NOT NULL in the schema).
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float] = mapped_column(Float, default=0.0)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    note: Mapped[str | None] = mapped_column(Text)

    def set_shape(self, geometry: BaseGeometry | None) -> None:
        from .geo.geodesy import geodesic_area_m2

        super().set_shape(geometry)
        self.area_m2 = geodesic_area_m2(geometry) if geometry is not None else 0.0


class Finding(SyncIdentity, HasGnssMetadata, Base):
    __tablename__ = "findings"
    rule_id: Mapped[str | None] = mapped_column(Text)
    target_table: Mapped[str | None] = mapped_column(Text)
    target_uuid: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="open")
    inspector: Mapped[str | None] = mapped_column(Text)
    found_on: Mapped[dt.date] = mapped_column(TextDate, default=dt.date.today)
    note: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))


class Photo(SyncIdentity, Base):
    __tablename__ = "photos"
    owner_table: Mapped[str] = mapped_column(Text)
    owner_uuid: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    taken_at: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    caption: Mapped[str | None] = mapped_column(Text)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    original_name: Mapped[str | None] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)


SURVEYED_MODELS: dict[str, type[SyncIdentity]] = {
    m.__tablename__: m
    for m in (AdminUnit, Site, SiteTenant, Pole, PoleAttachment, FibreRoute, Zone, Finding, Photo)
}
