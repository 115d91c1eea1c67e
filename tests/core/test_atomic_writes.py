"""Every file the program writes appears whole or not at all, with a normal file's mode
(issue 16, items 10 and 12).

A full disk under `hatang export` deleted the previous good GeoPackage and left a partial one
that looked valid (only the sites layer); workbooks were created 0600, unreadable to the
department's shared folder. Now a writer writes a temporary file in a private folder beside the
target, renamed over it only when whole; the old file survives any failure."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hatang_desktop.core.gis.layers import LAYER_ORDER

from .fault_env import assert_one_clean_line, fill, hatang, small_disk, temporaries

GIS = {"gpkg": ["out.gpkg"], "kml": ["out.kml"], "csv": ["out.csv"],
       "geojson": [f"out_{r}.geojson" for r in LAYER_ORDER]}   # a file per layer


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.is_file() and p.name != ".filler"}


@pytest.mark.parametrize("fmt", list(GIS))
def test_gis_export_on_a_full_disk_keeps_the_previous_files(fmt, sample_db_path, tmp_path):
    with small_disk(tmp_path / "disk", 8 * 1024 * 1024) as disk:
        out = disk / f"out.{fmt}"
        first = hatang("export", sample_db_path, out)
        assert first.returncode == 0, first.stderr
        assert sorted(p.name for p in disk.iterdir()) == sorted(GIS[fmt])
        good = digests(disk)
        fill(disk, leave=16 * 1024)
        result = hatang("export", sample_db_path, out)
        assert_one_clean_line(result, str(disk), "đầy", "full")
        assert digests(disk) == good          # every previous file, byte for byte
        assert temporaries(disk) == []


@pytest.mark.parametrize("out", ["bao_cao.pdf", "bao_cao.xlsx"])
def test_findings_report_on_a_full_disk_keeps_the_previous_file(out, sample_db_path, tmp_path):
    with small_disk(tmp_path / "disk", 4 * 1024 * 1024) as disk:
        target = disk / out
        target.write_bytes(b"the previous report")
        fill(disk, leave=8 * 1024)
        result = hatang("report", "findings", sample_db_path, target)
        assert_one_clean_line(result, str(target), "đầy", "full")
        assert target.read_bytes() == b"the previous report"
        assert temporaries(disk) == []


def test_a_writer_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    from hatang_desktop.core.atomic import atomic_output

    target = tmp_path / "so.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(ZeroDivisionError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            1 / 0
    assert target.read_bytes() == b"old" and temporaries(tmp_path) == []


# -- modes (item 12) ------------------------------------------------------------------------------

def _run_with_umask(mask: int, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatang_desktop", *map(str, args)], capture_output=True,
                          text=True, preexec_fn=lambda: os.umask(mask))


@pytest.mark.parametrize("mask", [0o022, 0o002])
@pytest.mark.parametrize("command, out", [
    ("export-xlsx", "so.xlsx"), ("export", "out.gpkg"), ("export", "out.kml"), ("export", "out.csv"),
    ("report findings", "bao_cao.pdf"), ("report indicators", "chi_tieu.xlsx"),
])
def test_written_files_get_a_normal_files_mode(command, out, mask, sample_db_path, tmp_path):
    words = command.split()
    result = _run_with_umask(mask, *words[:1], *words[1:], sample_db_path, tmp_path / out)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / out).stat().st_mode) == 0o666 & ~mask
    assert temporaries(tmp_path) == []


def test_temporary_files_are_private_until_renamed(sample_db_path, tmp_path, monkeypatch):
    from hatang_desktop.core.exchange import xlsx_writer
    from hatang_desktop.core.exchange.export import export_workbook
    from hatang_desktop.core.storage.database import Database

    seen = []
    real = xlsx_writer._backend_module

    def spying(backend):
        module = real(backend)

        class Spy:
            NAME = module.NAME

            @staticmethod
            def write(tmp, plan):
                module.write(tmp, plan)
                # Nobody else may read it yet: the file or every folder on the way is private.
                seen.append((stat.S_IMODE(tmp.stat().st_mode), stat.S_IMODE(tmp.parent.stat().st_mode),
                             tmp_path in tmp.parents))
        return Spy

    monkeypatch.setattr(xlsx_writer, "_backend_module", spying)
    with Database.open(sample_db_path, readonly=True) as db:
        export_workbook(db, tmp_path / "so.xlsx", parallel=False)
    (file_mode, folder_mode, beside), = seen
    assert beside                                   # in the target's folder: the rename stays on one disk
    assert file_mode & 0o077 == 0 or folder_mode & 0o077 == 0
    assert stat.S_IMODE((tmp_path / "so.xlsx").stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
