"""How an indicator is counted where provinces differ: one frozen value, hashable so results can
be cached per definition (a plan may define an indicator its own way, `definitions:` in its file)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..errors import InvalidInputError

ZONE_KINDS = ("economic_zone", "industrial_park", "industrial_cluster")
POLE_SCOPES = ("all", "with_cables")


@dataclass(frozen=True)
class Params:
    # A site is shared when this many distinct operators are on it (tenants).
    min_operators: int = 2
    # A pole is shared when it carries cables of this many distinct operators.
    pole_min_operators: int = 2
    # Denominator of the shared-pole rate: every surveyed pole, or only poles carrying a cable.
    pole_scope: str = "all"
    # Village rates count only villages with power (has_power not 0; unknown counts as powered).
    power_only: bool = False
    # Zone kinds the 5G-in-zones indicators look at.
    zone_kinds: tuple[str, ...] = ZONE_KINDS

    def with_definitions(self, definitions: dict, where: str) -> Params:
        """A copy with a plan's `definitions:` applied; `where` names the file for messages."""
        known = {f.name for f in fields(self)}
        changes = {}
        for key, value in (definitions or {}).items():
            if key not in known:
                raise InvalidInputError(f"{where}: definitions.{key}: không có định nghĩa này; dùng một "
                                        f"trong {', '.join(sorted(known))} / unknown definition")
            changes[key] = _check(key, value, where)
        return replace(self, **changes)


def _check(key: str, value, where: str):
    place = f"{where}: definitions.{key}"
    if key in ("min_operators", "pole_min_operators"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInputError(f"{place}: phải là số nguyên >= 1 / must be an integer >= 1")
        return value
    if key == "power_only":
        if not isinstance(value, bool):
            raise InvalidInputError(f"{place}: phải là true hoặc false / must be true or false")
        return value
    if key == "pole_scope":
        if value not in POLE_SCOPES:
            raise InvalidInputError(f"{place}: phải là {' hoặc '.join(POLE_SCOPES)} / must be one of these")
        return value
    if key == "zone_kinds":
        if not isinstance(value, list) or not value or any(v not in ZONE_KINDS for v in value):
            raise InvalidInputError(f"{place}: danh sách gồm {', '.join(ZONE_KINDS)} / a list of these kinds")
        return tuple(dict.fromkeys(value))
    raise AssertionError(key)
