"""The errors of coordinates and provinces: InvalidInputError (a ValueError too), in both languages.

Every geo module raises these, so a caller that reads what a person typed needs one except clause.
"""

from __future__ import annotations

from ..errors import InvalidInputError

__all__ = [
    "AmbiguousProvinceError",
    "CoordinateError",
    "MalformedCoordinateError",
    "OutOfRangeError",
    "OutsideVietnamError",
    "UnknownProvinceError",
]


class CoordinateError(InvalidInputError):
    """A coordinate or province the user gave cannot be used (also a ValueError)."""

    def __init__(self, message_vi: str, message_en: str):
        self.message_vi, self.message_en = message_vi, message_en
        super().__init__(message_vi, message_en)


class OutOfRangeError(CoordinateError):
    """Well-formed, but outside the possible range (latitude 95, easting -3 km...)."""


class MalformedCoordinateError(CoordinateError):
    """Cannot be read as a coordinate at all, or contradicts itself (21°75', E on a latitude)."""


class UnknownProvinceError(CoordinateError):
    """No province, old or new, is known under that name or code."""


class AmbiguousProvinceError(UnknownProvinceError):
    """The name is both a 2025 province and an older one, with different central meridians.

    A subclass of UnknownProvinceError so callers that only ask "did the lookup work" need one
    except clause."""


class OutsideVietnamError(CoordinateError):
    """A valid position, but not in or near Vietnam: almost always a typing or order mistake."""
