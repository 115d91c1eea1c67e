"""The technologies of forms/value_lists.yaml, as the map's bit sets and the filter order them.

Labels, value lists and record types are read through `core.schema` (forms/ is their one source);
this module keeps only the technology codes, whose order is the bit order of the map's filters.
"""

from __future__ import annotations

from .value_lists import value_lists

TECHNOLOGIES = value_lists()["technologies"].codes
