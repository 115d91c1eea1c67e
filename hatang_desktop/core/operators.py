"""Telecom operators: reference data, mobile network codes and the names people write."""

from __future__ import annotations

import re
from typing import NamedTuple

from .text import fold

MCC_VIETNAM = 452


class Operator(NamedTuple):
    code: str
    name: str
    brand: str
    mncs: tuple[int, ...]
    colour: str  # map colour, the operator's own brand colour where it has one


# MNCs under MCC 452. 08 is I-Telecom, not Viettel, whatever old lists say.
OPERATORS: tuple[Operator, ...] = (
    Operator("VTL", "Tập đoàn Công nghiệp - Viễn thông Quân đội (Viettel)", "Viettel", (4, 6), "#e4002b"),
    Operator("VNPT", "Tập đoàn Bưu chính Viễn thông Việt Nam (VNPT)", "VinaPhone", (2,), "#0072bc"),
    Operator("MBF", "Tổng công ty Viễn thông MobiFone", "MobiFone", (1,), "#00a6a6"),
    Operator("VNM", "Công ty Cổ phần Viễn thông Di động Vietnamobile", "Vietnamobile", (5,), "#f26f21"),
    Operator("GTEL", "Công ty Cổ phần Viễn thông Di động Toàn Cầu (Gtel)", "Gmobile", (7,), "#6a3d9a"),
    Operator("ITEL", "Công ty Cổ phần Viễn thông Đông Dương Telecom", "I-Telecom", (8,), "#33a02c"),
    Operator("REDDI", "Công ty Cổ phần Viễn thông Di động Reddi", "Reddi", (9,), "#b15928"),
    Operator("OTHER", "Doanh nghiệp khác", "Khác", (), "#7f7f7f"),
    # A reference point (an OpenStreetMap mast, a list of coordinates) whose operator nobody has
    # checked yet: only a site "to verify" may carry it (schema 5 enforces it). Last, so the
    # map's operator bits of the others stay where they were.
    Operator("UNKNOWN", "Doanh nghiệp chưa xác định", "Chưa xác định", (), "#9e9e9e"),
)
UNKNOWN = "UNKNOWN"

BY_CODE = {op.code: op for op in OPERATORS}

# Spellings seen in operators' and communes' lists, reduced by _key() below.
_ALIASES = {
    "VTL": ["viettel", "vtl", "vt", "viettel telecom", "tap doan viettel", "vietel"],
    "VNPT": ["vnpt", "vinaphone", "vina", "vnp", "vnpt vinaphone", "vnptvinaphone", "vnpt-vinaphone",
             "vinafone", "vnpt net"],
    "MBF": ["mobifone", "mobi", "mbf", "mobiphone", "mobi fone", "vms"],
    "VNM": ["vietnamobile", "vnm", "vnmobile", "ht mobile", "htmobile"],
    "GTEL": ["gtel", "gmobile", "g mobile", "beeline", "gtel mobile"],
    "ITEL": ["itel", "i telecom", "itelecom", "dong duong telecom"],
    "REDDI": ["reddi", "mobicast"],
    "OTHER": ["khac", "other"],
    "UNKNOWN": ["chua xac dinh", "chua ro", "khong ro", "unknown", "khong xac dinh"],
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()


_LOOKUP = {_key(alias): code for code, aliases in _ALIASES.items() for alias in aliases}
_LOOKUP.update({_key(op.code): op.code for op in OPERATORS})
_LOOKUP.update({_key(op.brand): op.code for op in OPERATORS})


def normalise_operator(text: str) -> str | None:
    """The operator code for a name as people write it ("VNPT-Vinaphone", "Mobi"), or None."""
    key = _key(text)
    if key in _LOOKUP:
        return _LOOKUP[key]
    squashed = key.replace(" ", "")
    for alias, code in _LOOKUP.items():
        if alias.replace(" ", "") == squashed:
            return code
    return None


def operator_for_mnc(mnc: int) -> str | None:
    for op in OPERATORS:
        if mnc in op.mncs:
            return op.code
    return None
