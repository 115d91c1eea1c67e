"""Vietnam's administrative units after the 1 July 2025 reform, from the shipped CSV files."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ..paths import resources_dir
from .errors import InvalidInputError
from .model import AdminUnit
from .text import fold_place

SOURCE = "resources/admin_units (dvhcvn/20250701, GSO 915 & 1027/CTK-CSCL)"


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    centre_lat: float | None
    centre_lon: float | None
    former_names: tuple[str, ...]  # pre-2025 provinces merged into this one


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    unit_type: str
    province_code: str
    centre_lat: float | None
    centre_lon: float | None
    area_km2: float | None


def _float(value: str) -> float | None:
    return float(value) if value.strip() else None


def _rows(name: str) -> list[dict[str, str]]:
    with (resources_dir() / "admin_units" / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@functools.lru_cache(maxsize=1)
def provinces() -> tuple[Province, ...]:
    return tuple(
        Province(r["province_code"], r["province_name"], _float(r["centre_lat"]),
                 _float(r["centre_lon"]),
                 tuple(n for n in r["merged_from_names"].split(";") if n))
        for r in _rows("provinces_2025.csv")
    )


@functools.lru_cache(maxsize=1)
def _communes_by_province() -> dict[str, tuple[Commune, ...]]:
    out: dict[str, list[Commune]] = {}
    for r in _rows("communes_2025.csv"):
        out.setdefault(r["province_code"], []).append(Commune(
            r["commune_code"], r["commune_name"], r["unit_type"], r["province_code"],
            _float(r["centre_lat"]), _float(r["centre_lon"]), _float(r["area_km2"])))
    return {k: tuple(v) for k, v in out.items()}


def communes(province_code: str) -> tuple[Commune, ...]:
    return _communes_by_province().get(province_code, ())


def find_province(query: str) -> Province:
    """A province by 2025 code ("42", "2"), name ("Hà Tĩnh", "ha tinh") or pre-2025 name.

    A pre-2025 name resolves to the province it was merged into ("Bình Phước" → Đồng Nai).
    """
    q = query.strip()
    if q.isdigit():
        for p in provinces():
            if p.code == q.zfill(2):
                return p
    key = fold_place(q)
    for p in provinces():
        if fold_place(p.name) == key:
            return p
    for p in provinces():
        if any(fold_place(n) == key for n in p.former_names):
            return p
    known = ", ".join(f"{p.code} {p.name}" for p in provinces())
    raise InvalidInputError(
        f"không có tỉnh/thành phố '{query}' trong danh mục 2025; dùng mã hoặc tên, ví dụ 42 hoặc "
        f"'Hà Tĩnh' / unknown province '{query}'. Known: {known}")


def install_province(session: Session, province: Province) -> int:
    """Add the province and all its communes as admin units; returns how many were added."""
    session.add(AdminUnit(code=province.code, name=province.name, level="province",
                          unit_type="Thành phố" if province.name.startswith("Thành phố") else "Tỉnh",
                          centre_lat=province.centre_lat, centre_lon=province.centre_lon))
    session.flush()
    session.add_all(
        AdminUnit(code=c.code, name=c.name, level="commune", unit_type=c.unit_type,
                  parent_code=province.code, centre_lat=c.centre_lat, centre_lon=c.centre_lon,
                  area_type="urban" if c.unit_type == "Phường" else "rural")
        for c in communes(province.code)
    )
    session.flush()
    return 1 + len(communes(province.code))


def resources_path() -> Path:
    return resources_dir() / "admin_units"
