"""The findings PDF from the department's server, photos included: the server keeps each photo's
bytes in its row (it has no photo folder beside a file), and the report must show the same
thumbnails and the same listing as the commune's own file does."""

from __future__ import annotations

import subprocess

from hatang_desktop.core import photos
from hatang_desktop.core.storage.database import Database
from tests.core.test_photos import make_jpeg
from tests.core.test_sync_package import department_copy

from .cli_helpers import hatang, hatang_json, rows


def _images(pdf) -> list[tuple[str, str]]:
    """(width, height) of every image placed in the PDF, read back by poppler's pdfimages."""
    out = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    return [tuple(line.split()[3:5]) for line in out.splitlines()[2:]]


def _text(pdf) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # The first page names its source (a file's path or the server's address) and the time it was made.
    return [line for line in out.splitlines() if "Nguồn" not in line and "Lập lúc" not in line]


def test_findings_pdf_from_the_server_shows_the_photos(server_sample_url, sample_db_path, tmp_path, capsys):
    url = server_sample_url
    commune = department_copy(sample_db_path, tmp_path / "xa.db")
    [(pole, commune_code)] = rows(commune, "SELECT p.uuid, f.commune_code FROM findings f JOIN poles p "
                                           "ON p.uuid = f.target_uuid WHERE f.deleted = 0 AND f.status = 'open' "
                                           "ORDER BY f.id LIMIT 1")
    with Database.open(commune) as db:
        photos.attach_photo(db, "poles", pole, make_jpeg(tmp_path / "cot.jpg", size=(640, 480), colour="#336699"),
                            user="Cán bộ xã")
    package = tmp_path / "goi.zip"
    hatang_json(capsys, "export-xlsx", commune, package, "--package")
    done = hatang_json(capsys, "import-xlsx", url, package)
    assert done["photos"]["added"] == 1
    assert rows(url, "SELECT count(*) FROM photos WHERE owner_uuid = :u AND data IS NOT NULL", u=pole) == [(1,)]

    made = {}
    for name, target in (("file", commune), ("server", url)):
        out = tmp_path / f"{name}.pdf"
        rc, _out, err = hatang(capsys, "report", "findings", target, out, "--commune", commune_code, "--details", "all")
        assert rc == 0, err
        made[name] = out
    on_file, on_server = _images(made["file"]), _images(made["server"])
    assert len(on_file) >= 1, "the pole's photo is not in the file's report"
    assert on_server == on_file
    assert _text(made["server"]) == _text(made["file"])
