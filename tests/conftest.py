from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.sample import generate_sample


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path_factory, monkeypatch):
    """The user's data folder (logs, the installed sample copy) goes to a temp folder in every
    test and in the processes tests start, never to the real home."""
    monkeypatch.setenv("HATANG_DATA_DIR", str(tmp_path_factory.mktemp("userdata")))


@pytest.fixture(scope="session")
def _sample_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.db"
    generate_sample(path, sites=300, seed=7)
    return path


@pytest.fixture
def sample_db_path(_sample_template, tmp_path) -> Path:
    """A small sample database (300 sites, Hà Tĩnh), a fresh copy per test."""
    target = tmp_path / "sample.db"
    shutil.copyfile(_sample_template, target)
    return target


@pytest.fixture
def empty_db(tmp_path):
    """A new database for Hà Tĩnh with its communes and nothing surveyed yet."""
    db = init_province_database(tmp_path / "ht.db", "42", user="tester")
    yield db
    db.close()


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL 15 + PostGIS 3 cluster on 127.0.0.1 for the whole session (tests/pg.py)."""
    from . import pg

    why = pg.missing()
    if why:
        pytest.skip(why)
    cluster = pg.Cluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def _server_sample_template(pg_server, _sample_template):
    """The 300-site sample moved onto the server once (`hatang server init --from`): the template
    every server test database is copied from."""
    from hatang_desktop.core.server.load import load_file
    from hatang_desktop.core.storage.targets import parse_server_url

    url = pg_server.new_database("sample_template")
    load_file(parse_server_url(url), _sample_template).close()
    return url


@pytest.fixture
def server_sample_url(pg_server, _server_sample_template) -> str:
    """A fresh server database holding the 300-site sample (the same records as sample_db_path)."""
    from . import pg

    return pg.copy_database(pg_server, _server_sample_template, "sample")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_target(request, sample_db_path) -> str:
    """The same sample on each engine: the file's path, or a server database's URL. Tests of
    behaviour both engines share take this and open it with core.storage.targets.open_database."""
    if request.param == "sqlite":
        return str(sample_db_path)
    return request.getfixturevalue("server_sample_url")
