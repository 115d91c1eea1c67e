"""A commune's sync package (.zip with photos) imported into the department's server: the server
has no photo folder, so the photos' bytes go into their rows; exported again from the server, the
package carries them."""

from __future__ import annotations

import hashlib
import json
import zipfile

from hatang_desktop.core import photos
from hatang_desktop.core.storage.database import Database
from tests.core.test_photos import make_jpeg
from tests.core.test_sync_package import department_copy, records

from .cli_helpers import hatang, hatang_json, rows


def test_a_package_with_photos_into_the_server_and_back(server_sample_url, sample_db_path, tmp_path, capsys):
    url = server_sample_url
    commune = department_copy(sample_db_path, tmp_path / "xa.db")   # the commune's file, its own id
    recs = records(commune)
    with Database.open(commune) as db:
        made = [photos.attach_photo(db, table, recs[key][0], make_jpeg(tmp_path / f"{key}.jpg", size=(320, 240),
                                                                        colour=colour), user="Cán bộ xã")
                for table, key, colour in (("sites", "site", "#336699"), ("poles", "pole", "#993366"))]
    package = tmp_path / "goi.zip"
    hatang_json(capsys, "export-xlsx", commune, package, "--package")

    code, out, err = hatang(capsys, "import-xlsx", url, package, "--json")
    assert code == 0, err
    done = json.loads(out)
    assert done["applied"] and done["backup"] is None
    assert done["photos"]["added"] == 2 and done["photos"]["files_copied"] == 2
    stored = rows(url, "SELECT uuid, sha256, data, owner_uuid FROM photos ORDER BY id")
    assert [(u, sha, owner) for u, sha, _d, owner in stored] == [(p.uuid, p.sha256, p.owner_uuid) for p in made]
    assert all(hashlib.sha256(data).hexdigest() == sha for _u, sha, data, _o in stored)

    again = hatang_json(capsys, "import-xlsx", url, package)
    assert not again["applied"] and again["photos"]["added"] == again["photos"]["files_copied"] == 0

    # Out of the server again: the package carries the bytes kept in the rows.
    back = tmp_path / "tu_may_chu.zip"
    doc = hatang_json(capsys, "export-xlsx", url, back, "--package")
    assert doc["photos"] == doc["photo_rows"] == 2 and doc["not_included"] == []
    with zipfile.ZipFile(back) as z:
        manifest = json.loads(z.read("hatang-package.json"))
        assert sorted(p["sha256"] for p in manifest["photos"]) == sorted(p.sha256 for p in made)
        assert all(hashlib.sha256(z.read(p["path"])).hexdigest() == p["sha256"] for p in manifest["photos"])

    # A later removal at the commune travels in the next package: the photo's row is tombstoned
    # (an optimistic update, checked against the version the import read).
    with Database.open(commune) as db:
        photos.remove_photo(db, made[0].uuid)
    hatang_json(capsys, "export-xlsx", commune, tmp_path / "goi2.zip", "--package")
    later = hatang_json(capsys, "import-xlsx", url, tmp_path / "goi2.zip")
    assert later["applied"] and later["photos"]["updated"] == 1
    assert rows(url, "SELECT deleted, version FROM photos WHERE uuid = :u", u=made[0].uuid) == [(1, 2)]
