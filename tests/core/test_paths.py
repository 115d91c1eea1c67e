"""paths.data_dir: the shipped folders from a checkout, an installed wheel or the frozen app.

The installed wheel itself is exercised end to end in tests/test_wheel_install.py."""

from __future__ import annotations

import sys
from pathlib import Path

import hatang_desktop.paths as paths

ROOT = Path(__file__).resolve().parent.parent.parent


def test_checkout_reads_the_top_level_folders():
    # The tests run on the checkout (an editable install): the folders beside the package.
    assert paths.is_checkout()
    assert paths.forms_dir() == ROOT / "forms"
    assert paths.data_dir("sample_db") == ROOT / "sample_db"
    assert (paths.forms_dir() / "value_lists.yaml").is_file()
    assert paths.bundled_sample_db() == ROOT / "sample_db" / paths.SAMPLE_NAME


def test_resources_override(monkeypatch, tmp_path):
    monkeypatch.setenv("HATANG_RESOURCES", str(tmp_path))
    assert paths.resources_dir() == tmp_path
    monkeypatch.delenv("HATANG_RESOURCES")
    assert paths.resources_dir() == ROOT / "resources"


def test_installed_package_data_win_over_the_checkout(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "_packaged_data", lambda: tmp_path / "_data")
    assert paths.data_dir("resources") == tmp_path / "_data" / "resources"
    assert not paths.is_checkout()
    # Installed: the sample is the user's copy, built there on first start (a wheel ships none).
    assert paths.bundled_sample_db() == paths.user_data_dir() / paths.SAMPLE_NAME


def test_frozen_bundle_reads_its_own_folder_and_copies_the_sample_once(monkeypatch, tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "sample_db").mkdir(parents=True)
    (bundle / "sample_db" / paths.SAMPLE_NAME).write_bytes(b"shipped")
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert paths.forms_dir() == bundle / "forms"
    assert paths.resources_dir() == bundle / "resources"
    copy = paths.bundled_sample_db()
    assert copy == paths.user_data_dir() / paths.SAMPLE_NAME
    assert copy.read_bytes() == b"shipped"
    copy.write_bytes(b"edited by the user")
    assert paths.bundled_sample_db().read_bytes() == b"edited by the user"
