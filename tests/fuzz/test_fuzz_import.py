"""The import's fuzz set (issue 16): a few hundred mutated workbooks and GIS files made from a fresh
export of the sample, each ending in a clean refusal or a correct import (see oracle.py).

The figures (cases tried, refused cleanly, imported correctly, values lost) are printed in the
session summary under "fuzz figures".
"""

from __future__ import annotations

import random

import pytest

from .mutations import (FUZZED_COLUMNS, GIS_FUZZED, container_cases, gis_cases, gis_hypothesis_cases,
                        hypothesis_cases, merge_cases, package_cases, structure_cases)
from .oracle import judge

# Cases per fuzzed column, chosen among Hypothesis' draws (mutations.DRAWS) for the kinds they
# cover: one importing one to three edited rows, the others each refused for another reason. More
# for the sites sheet, the one every commune edits.
EXAMPLES = {"sites": 3}
OTHER_EXAMPLES = 2
# A few cases run through the real `hatang` process (chosen with a fixed seed), for its exit code
# and stderr; the rest run through the same command code (cli.main) in this process.
SUBPROCESS_SEED = 16


def _run(cases, src, tmp_path, subprocess_sample: int = 0) -> None:
    chosen = set(random.Random(SUBPROCESS_SEED).sample(range(len(cases)), min(subprocess_sample, len(cases))))
    failures = []
    for n, case in enumerate(cases):
        v = judge(case, src, tmp_path / f"c{n}", via="subprocess" if n in chosen else "inprocess")
        if not v.ok:
            failures.append(v.summary())
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures)


@pytest.mark.parametrize("record,key", [(r, k) for r, keys in FUZZED_COLUMNS.items() for k in keys])
def test_cell_values(fuzz_sources, record, key, tmp_path):
    """Values drawn by Hypothesis for one column (right and wrong types, non-values, ranges, lists)."""
    if key not in fuzz_sources._columns[record]:
        pytest.skip(f"the forms have no column {key} in {record}")
    sample = 1 if (record, key) == ("sites", "height_m") else 0
    _run(hypothesis_cases(fuzz_sources, record, key, EXAMPLES.get(record, OTHER_EXAMPLES)), fuzz_sources, tmp_path,
         sample)


@pytest.mark.parametrize("key", GIS_FUZZED)
def test_gis_attribute_values(fuzz_sources, key, tmp_path):
    """The same values as GeoJSON attributes of the sites layer: the same rules every way in."""
    _run(gis_hypothesis_cases(fuzz_sources, key, OTHER_EXAMPLES), fuzz_sources, tmp_path, 0)


GROUPS = {
    "columns": ("column-", "columns-", "header-"),
    "sheets-metadata": ("sheet-", "sheets-", "metadata"),
    "rows-uuids": ("row-", "uuid-", "code-", "tombstone", "parent-"),
    "positions-text": ("position-", "huge-", "blank-"),
}


@pytest.fixture(scope="module")
def structure(fuzz_sources):
    return structure_cases(fuzz_sources)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_workbook_structure(fuzz_sources, structure, group, tmp_path):
    cases = [c for c in structure if c.id.split("/", 1)[1].startswith(GROUPS[group])]
    assert cases
    _run(cases, fuzz_sources, tmp_path, 1 if group in ("columns", "rows-uuids") else 0)


def test_merge_with_local_edits(fuzz_sources, tmp_path):
    """Edited here since the export: same field -> a stored conflict (exit 3), other fields merge."""
    _run(merge_cases(fuzz_sources), fuzz_sources, tmp_path)


def test_workbook_container(fuzz_sources, tmp_path):
    """Truncated zips, missing parts, XML entities (billion laughs, external), a zip bomb's shape."""
    _run(container_cases(fuzz_sources), fuzz_sources, tmp_path, 1)


def test_sync_packages(fuzz_sources, tmp_path):
    """A package (workbook, photos, manifest): every hash checked first; a photo altered or
    missing, a manifest gone or wrong, a truncated zip, a path leaving the photo folder, a wrong
    cell in the workbook inside: refused, nothing written; the package as exported: imported."""
    _run(package_cases(fuzz_sources), fuzz_sources, tmp_path, 1)


# GDAL warns about the broken files these cases are made of (an open ring, an empty point).
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_gis_files(fuzz_sources, tmp_path):
    """GeoJSON and GeoPackage: attributes missing or not values, empty/mixed/invalid geometries,
    positions outside Vietnam, unknown CRS, duplicate and foreign UUIDs, truncated files."""
    _run(gis_cases(fuzz_sources), fuzz_sources, tmp_path, 1)


def test_the_oracle_sees_a_wrong_outcome_and_a_lost_value(fuzz_sources, tmp_path):
    """The judge itself: a value the database does not show, and an import where a refusal was
    due, both fail (and count as lost values); not counted in the figures."""
    from .book import number_cell
    from .mutations import IMPORT, REFUSE, Case, _uuid_at

    book = fuzz_sources.fresh_book()
    sheet = book.sheet(fuzz_sources.sheet_name("sites"))
    sheet.set(5, sheet.column("Chiều cao cột (m)"), number_cell(44.5))
    uuid = _uuid_at(sheet, 5)
    data = book.to_bytes()
    right = judge(Case("oracle/right", "oracle", "xlsx", data, IMPORT, expected={(uuid, "height_m"): 44.5}),
                  fuzz_sources, tmp_path / "a", count=False)
    assert right.ok, right.problems
    claimed = judge(Case("oracle/claimed", "oracle", "xlsx", data, IMPORT, expected={(uuid, "height_m"): 45.5}),
                    fuzz_sources, tmp_path / "b", count=False)
    assert not claimed.ok and claimed.lost == 1 and "database 44.5" in claimed.problems[0]
    refused = judge(Case("oracle/refuse", "oracle", "xlsx", data, REFUSE, ["dòng 6"]), fuzz_sources,
                    tmp_path / "c", count=False)
    assert not refused.ok and refused.lost == 1
