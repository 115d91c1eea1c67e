"""The fuzz set's sample (exported once per session) and its figures in the test summary."""

from __future__ import annotations

import pytest

from .mutations import make_sources
from .oracle import FIGURES


@pytest.fixture(scope="session")
def fuzz_sources(_sample_template, tmp_path_factory):
    """The 300-site sample and its fresh export (workbook, GeoJSON, GeoPackage), made once."""
    return make_sources(_sample_template, tmp_path_factory.mktemp("fuzz_sources"))


def pytest_terminal_summary(terminalreporter):
    from .crash import CRASH_FIGURES

    if FIGURES.tried:
        terminalreporter.section("fuzz figures (issue 16)")
        for line in FIGURES.lines():
            terminalreporter.write_line(line)
    if CRASH_FIGURES.kills:
        terminalreporter.section("kill -9 figures (issue 16)")
        for line in CRASH_FIGURES.lines():
            terminalreporter.write_line(line)
