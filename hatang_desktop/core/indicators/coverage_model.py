"""The coverage model (`resources/coverage.yaml`): radius by area type and technology."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ...paths import resources_dir
from ..errors import InvalidInputError
from .catalogue import TECHNOLOGIES

AREA_TYPES = ("urban", "rural", "mountain")


@dataclass(frozen=True)
class CoverageModel:
    radius_m: dict[str, dict[str, float]]  # area type -> technology -> metres
    default_area_type: str
    mobile_broadband: tuple[str, ...]
    ftth_route_distance_m: float
    path: str = ""

    def radius(self, area_type: str | None, technology: str) -> float:
        return self.radius_m[area_type if area_type in self.radius_m else self.default_area_type][technology]

    def __hash__(self) -> int:  # dicts inside: hash what identifies the model
        return hash((self.path, self.default_area_type, self.mobile_broadband, self.ftth_route_distance_m,
                     tuple((a, tuple(sorted(r.items()))) for a, r in sorted(self.radius_m.items()))))


def default_path() -> Path:
    return resources_dir() / "coverage.yaml"


def _number(value, place: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidInputError(f"{place}: phải là số dương (mét) / must be a positive number of metres, "
                                f"got {value!r}")
    return float(value)


def load_coverage_model(path: str | Path | None = None) -> CoverageModel:
    path = Path(path) if path is not None else default_path()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"{path}: không đọc được tệp / cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{path}: YAML không hợp lệ / invalid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{path}: cần một bảng khóa: giá trị / must be a mapping")
    radii = doc.get("radius_m")
    if not isinstance(radii, dict):
        raise InvalidInputError(f"{path}: radius_m: thiếu hoặc sai dạng / missing or not a mapping")
    table: dict[str, dict[str, float]] = {}
    for area in AREA_TYPES:
        row = radii.get(area)
        if not isinstance(row, dict):
            raise InvalidInputError(f"{path}: radius_m.{area}: thiếu loại địa bàn này / area type missing")
        missing = [t for t in TECHNOLOGIES if t not in row]
        if missing:
            raise InvalidInputError(f"{path}: radius_m.{area}: thiếu công nghệ / missing technology "
                                    f"{', '.join(missing)}")
        table[area] = {t: _number(row[t], f"{path}: radius_m.{area}.{t}") for t in TECHNOLOGIES}
    unknown = sorted(set(radii) - set(AREA_TYPES))
    if unknown:
        raise InvalidInputError(f"{path}: radius_m.{unknown[0]}: loại địa bàn không có / unknown area type "
                                f"(urban, rural, mountain)")
    default_area = doc.get("default_area_type", "rural")
    if default_area not in AREA_TYPES:
        raise InvalidInputError(f"{path}: default_area_type: phải là urban, rural hoặc mountain / "
                                f"must be urban, rural or mountain")
    mbb = doc.get("mobile_broadband", ["4G", "5G"])
    if not isinstance(mbb, list) or not mbb or any(t not in TECHNOLOGIES for t in mbb):
        raise InvalidInputError(f"{path}: mobile_broadband: danh sách công nghệ trong 2G, 3G, 4G, 5G / "
                                f"a list of 2G, 3G, 4G, 5G")
    ftth = _number(doc.get("ftth_route_distance_m", 500), f"{path}: ftth_route_distance_m")
    return CoverageModel(table, default_area, tuple(mbb), ftth, str(path))
