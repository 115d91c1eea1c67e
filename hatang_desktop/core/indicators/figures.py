"""Figures the department enters per commune (or for the province) and year (schema 5):
broadband subscriptions per 100 inhabitants and i-Speed speeds, which no survey on the map gives."""

from __future__ import annotations

import math
import uuid as uuidlib
from dataclasses import dataclass

from sqlalchemy import text

from ..errors import InvalidInputError
from ..model import utcnow
from ..storage.database import Database
from .catalogue import BY_KEY, FIGURE_KEYS


@dataclass(frozen=True)
class Figure:
    unit_code: str
    year: int
    indicator: str
    value: float


def parse_assignment(text_: str) -> tuple[str, float]:
    """"mobile_bb_subs_per_100=92,5" -> ("mobile_bb_subs_per_100", 92.5)."""
    key, sep, raw = text_.partition("=")
    key = key.strip()
    if not sep or key not in FIGURE_KEYS:
        raise InvalidInputError(f"--set-figure {text_!r}: cần CHỈ_SỐ=GIÁ_TRỊ với chỉ số là một trong "
                                f"{', '.join(FIGURE_KEYS)} / needs INDICATOR=VALUE, INDICATOR one of these")
    try:
        value = float(raw.strip().replace(",", "."))
    except ValueError:
        raise InvalidInputError(f"--set-figure {text_!r}: '{raw}' không phải số / not a number") from None
    if not math.isfinite(value) or value < 0:
        raise InvalidInputError(f"--set-figure {text_!r}: giá trị phải là số không âm / must be >= 0")
    if BY_KEY[key].unit == "per_100" and value > 1000:
        raise InvalidInputError(f"--set-figure {text_!r}: {value} thuê bao/100 dân là không hợp lý / "
                                "implausible per-100 figure")
    return key, value


def set_figures(db: Database, unit_code: str, year: int, values: dict[str, float], *,
                user: str | None = None, source: str | None = None) -> list[Figure]:
    """Enter or replace figures for one unit and year, in one operation (logged, undoable)."""
    if not 2000 <= year <= 2100:
        raise InvalidInputError(f"--year {year}: năm không hợp lệ / invalid year")
    with db.operation(f"Nhập số liệu chỉ tiêu {unit_code} năm {year}", user=user, source=source) as s:
        found = s.execute(text("SELECT level FROM admin_units WHERE code = :c AND deleted = 0"),
                          {"c": unit_code}).scalar_one_or_none()
        if found not in ("province", "commune"):
            raise InvalidInputError(f"{db.path}: không có tỉnh hoặc xã/phường mã '{unit_code}' / no province "
                                    f"or commune with code '{unit_code}'")
        stamp = {"t": str(utcnow()), "u": s.info["user"], "s": s.info["source"]}
        for key, value in values.items():
            existing = s.execute(text(
                "SELECT id FROM indicator_figures WHERE unit_code = :c AND year = :y AND indicator = :k "
                "AND deleted = 0"), {"c": unit_code, "y": year, "k": key}).scalar_one_or_none()
            if existing is None:
                s.execute(text(
                    "INSERT INTO indicator_figures(uuid, updated_at, updated_by, source, unit_code, year, "
                    "indicator, value) VALUES (:uuid, :t, :u, :s, :c, :y, :k, :v)"),
                    {**stamp, "uuid": str(uuidlib.uuid4()), "c": unit_code, "y": year, "k": key, "v": value})
            else:
                s.execute(text(
                    "UPDATE indicator_figures SET value = :v, version = version + 1, updated_at = :t, "
                    "updated_by = :u, source = :s WHERE id = :id"), {**stamp, "v": value, "id": existing})
    return [Figure(unit_code, year, k, v) for k, v in values.items()]
