"""Downloading a basemap into MBTiles from a tile server the test starts on 127.0.0.1: what is
stored (tiles, metadata), politeness (User-Agent, ≤ 4 requests at a time, retry), refusals,
cancel and resume, refresh with ETags."""

import sqlite3

import pytest

from hatang_desktop import __version__
from hatang_desktop.core import mbtiles
from hatang_desktop.core.basemap import download as dl
from hatang_desktop.core.basemap import fetch
from hatang_desktop.core.basemap.sources import SourceRefused, resolve_source
from hatang_desktop.core.basemap.tiles import BBox, estimate
from hatang_desktop.core.errors import InvalidInputError
from tests.tile_server import TileServer

# A corner of Thạch Hà, Hà Tĩnh: 52 tiles at zooms 10-14.
AREA = BBox(105.85, 18.30, 105.95, 18.40)
ZOOMS = (10, 14)
TOTAL = estimate(AREA, *ZOOMS, 1).tiles


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server():
    with TileServer() as s:
        yield s


def source(server, kind, **kw):
    return resolve_source(server.url(kind), attribution=kw.pop("attribution", "© Sở Thử nghiệm"), **kw)


def read_back(path):
    conn = sqlite3.connect(path)
    try:
        meta = dict(conn.execute("SELECT name, value FROM metadata"))
        n = conn.execute("SELECT count(*) FROM tiles").fetchone()[0]
        keys = set(conn.execute("SELECT zoom_level, tile_column, tile_row FROM tiles"))
    finally:
        conn.close()
    return meta, n, keys


def test_download_writes_every_tile_and_the_metadata(server, tmp_path):
    out = tmp_path / "nen.mbtiles"
    result = dl.download_basemap(out, source(server, "ok"), AREA, *ZOOMS, name="Thạch Hà")
    assert TOTAL == 52 and result.fetched == TOTAL and result.already == 0
    assert not dl.part_path(out).exists()
    meta, n, keys = read_back(out)
    assert n == TOTAL
    assert meta["attribution"] == "© Sở Thử nghiệm" and meta["name"] == "Thạch Hà"
    assert meta["format"] == "png" and (meta["minzoom"], meta["maxzoom"]) == ("10", "14")
    assert [round(float(v), 2) for v in meta["bounds"].split(",")] == [105.85, 18.3, 105.95, 18.4]
    # Rows are TMS: the app's reader (which flips back) finds the tile the server made for XYZ (z, x, y).
    z, x, row = max(keys)
    y = (1 << z) - 1 - row
    with mbtiles.MBTiles(out) as mb:
        assert mb.tile(mbtiles.TileKey(z, x, y)) == server.png(z, x, y)
    assert server.user_agents == {dl.USER_AGENT} and __version__ in dl.USER_AGENT
    assert server.count("ok") == TOTAL


def test_at_most_four_requests_at_a_time(tmp_path):
    # Each slow tile is held a quarter second, long enough for a second worker to arrive even on a
    # loaded 2-core machine (at 0.05 s the requests sometimes ran one after another).
    with TileServer(slow_s=0.25) as server:
        dl.download_basemap(tmp_path / "a.mbtiles", source(server, "slow"), AREA, *ZOOMS, workers=16)
    assert 2 <= server.max_in_flight <= dl.MAX_WORKERS


def test_a_500_is_retried_with_backoff(server, tmp_path):
    out = tmp_path / "flaky.mbtiles"
    result = dl.download_basemap(out, source(server, "flaky"), AREA, *ZOOMS, backoff=0.01)
    assert result.fetched == TOTAL and read_back(out)[1] == TOTAL
    assert server.count("flaky") == 2 * TOTAL  # each tile: one 500, then the tile
    assert server.statuses[500] == TOTAL


def test_a_server_that_keeps_failing_stops_and_keeps_the_part(tmp_path):
    with TileServer() as server:
        src = source(server, "ok")
    # the server is gone: connection refused on every try
    out = tmp_path / "gone.mbtiles"
    with pytest.raises(dl.DownloadFailed) as err:
        dl.download_basemap(out, src, AREA, *ZOOMS, retries=2, backoff=0.01)
    assert "chạy lại lệnh" in str(err.value) and "run again" in str(err.value)
    assert not out.exists() and dl.part_path(out).exists()


def test_403_is_a_refusal_naming_the_source_and_leaves_no_file(server, tmp_path):
    out = tmp_path / "no.mbtiles"
    with pytest.raises(SourceRefused) as err:
        dl.download_basemap(out, source(server, "forbidden"), AREA, *ZOOMS)
    msg = str(err.value)
    assert "127.0.0.1" in msg and "HTTP 403" in msg and "từ chối" in msg and "refuses" in msg
    assert list(tmp_path.iterdir()) == []
    assert server.count("forbidden") <= dl.MAX_WORKERS * 2  # stopped at once, not one per tile


def test_no_store_is_respected(server, tmp_path):
    with pytest.raises(SourceRefused, match="no-store"):
        dl.download_basemap(tmp_path / "x.mbtiles", source(server, "nostore"), AREA, *ZOOMS)
    assert list(tmp_path.iterdir()) == []


def test_429_stops_and_says_when(server, tmp_path):
    with pytest.raises(SourceRefused, match="429") as err:
        dl.download_basemap(tmp_path / "x.mbtiles", source(server, "limited"), AREA, *ZOOMS)
    assert "120 s" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # nothing fetched: nothing worth keeping


def test_429_midway_keeps_the_tiles_fetched_to_resume_later(server, tmp_path):
    out = tmp_path / "q.mbtiles"
    with pytest.raises(SourceRefused, match="429") as err:
        dl.download_basemap(out, source(server, "quota"), AREA, *ZOOMS, workers=1)
    assert "kept to resume" in str(err.value)
    assert not out.exists() and read_back(dl.part_path(out))[1] == 10


def test_a_preset_whose_terms_forbid_offline_is_refused_before_any_request(tmp_path):
    with pytest.raises(SourceRefused) as err:
        resolve_source("osm")
    assert "operations.osmfoundation.org/policies/tiles" in str(err.value)
    assert "OpenStreetMap" in err.value.vi and "offline" in err.value.en


def test_an_html_page_instead_of_a_tile_is_not_stored(server, tmp_path):
    with pytest.raises(dl.DownloadFailed, match="not an image"):
        dl.download_basemap(tmp_path / "x.mbtiles", source(server, "html"), AREA, *ZOOMS)


def test_tiles_the_server_does_not_have_are_counted_not_fatal(server, tmp_path):
    out = tmp_path / "holes.mbtiles"
    result = dl.download_basemap(out, source(server, "holes"), AREA, *ZOOMS)
    assert result.missing > 0 and result.fetched + result.missing == TOTAL
    assert read_back(out)[1] == result.fetched


def test_cancel_then_resume_fetches_only_the_missing_tiles(tmp_path):
    out = tmp_path / "resume.mbtiles"
    with TileServer(slow_s=0.02) as server:
        src = source(server, "slow")
        with pytest.raises(dl.DownloadCancelled) as err:
            dl.download_basemap(out, src, AREA, *ZOOMS, workers=2, cancel=lambda: server.count("slow") >= 10)
        part = dl.part_path(out)
        assert not out.exists() and part.exists()
        stored = read_back(part)[1]
        assert 10 <= stored < TOTAL and err.value.stored == stored
        assert "run again to resume" in str(err.value)
        first = server.count("slow")
        assert first == stored  # every request made is a tile kept

        result = dl.download_basemap(out, src, AREA, *ZOOMS, workers=2)
        assert result.resumed and result.already == stored and result.fetched == TOTAL - stored
        assert server.count("slow") - first == TOTAL - stored
        assert max(server.requests.values()) == 1  # no tile was asked for twice
    assert read_back(out)[1] == TOTAL and not part.exists()


def test_a_part_file_of_another_source_is_not_reused(server, tmp_path):
    out = tmp_path / "mix.mbtiles"
    with pytest.raises(dl.DownloadCancelled):
        dl.download_basemap(out, source(server, "ok"), AREA, *ZOOMS, cancel=lambda: server.count("ok") >= 5)
    result = dl.download_basemap(out, source(server, "holes"), AREA, *ZOOMS)
    assert not result.resumed and result.already == 0


def test_an_existing_file_is_not_overwritten_and_refresh_uses_etags(server, tmp_path):
    out = tmp_path / "etag.mbtiles"
    src = source(server, "etag")
    dl.download_basemap(out, src, AREA, *ZOOMS)
    with pytest.raises(InvalidInputError, match="--refresh"):
        dl.download_basemap(out, src, AREA, *ZOOMS)
    result = dl.download_basemap(out, src, AREA, *ZOOMS, refresh=True)
    assert result.not_modified == TOTAL and result.fetched == 0
    assert server.statuses[304] == TOTAL
    assert read_back(out)[1] == TOTAL and not dl.part_path(out).exists()


def test_refresh_does_not_ask_for_tiles_still_fresh_by_max_age(server, tmp_path):
    out = tmp_path / "fresh.mbtiles"
    dl.download_basemap(out, source(server, "fresh"), AREA, *ZOOMS)
    result = dl.download_basemap(out, source(server, "fresh"), AREA, *ZOOMS, refresh=True)
    assert result.fresh == TOTAL and result.fetched == 0 and server.count("fresh") == TOTAL
    conn = sqlite3.connect(out)
    expires = {r[0] for r in conn.execute("SELECT expires FROM tile_http")}
    conn.close()
    assert len(expires) >= 1 and all(e.endswith("Z") for e in expires)


def test_refresh_without_validators_fetches_every_tile_again(server, tmp_path):
    out = tmp_path / "plain.mbtiles"
    dl.download_basemap(out, source(server, "ok"), AREA, *ZOOMS)
    result = dl.download_basemap(out, source(server, "ok"), AREA, *ZOOMS, refresh=True)
    assert result.fetched == TOTAL and server.count("ok") == 2 * TOTAL and read_back(out)[1] == TOTAL


def test_a_refused_refresh_leaves_the_old_file_as_it_was(server, tmp_path):
    out = tmp_path / "keep.mbtiles"
    dl.download_basemap(out, source(server, "ok"), AREA, *ZOOMS)
    before = out.read_bytes()
    with pytest.raises(InvalidInputError, match="nguồn khác"):
        dl.download_basemap(out, source(server, "etag"), AREA, *ZOOMS, refresh=True)
    server.forbid_all = True
    with pytest.raises(SourceRefused, match="HTTP 403"):
        dl.download_basemap(out, source(server, "ok"), AREA, *ZOOMS, refresh=True)
    assert out.read_bytes() == before and not dl.part_path(out).exists()


def test_too_many_tiles_are_refused_before_any_request(server, tmp_path):
    with pytest.raises(InvalidInputError, match="quá lớn"):
        dl.download_basemap(tmp_path / "big.mbtiles", source(server, "ok"), BBox(105, 17, 107, 19), 10, 17)
    assert server.count("ok") == 0 and list(tmp_path.iterdir()) == []


def test_the_synthetic_street_map_is_a_png_the_reader_decodes(server, tmp_path):
    # The /roads/ tiles are what a screenshot of a downloaded basemap shows: real PNGs, 256 px.
    import io

    from PIL import Image

    out = tmp_path / "roads.mbtiles"
    dl.download_basemap(out, source(server, "roads"), AREA, 13, 14)
    z, x, row = max(read_back(out)[2])
    with mbtiles.MBTiles(out) as mb:
        data = mb.tile(mbtiles.TileKey(z, x, (1 << z) - 1 - row))
    img = Image.open(io.BytesIO(data))
    assert img.size == (256, 256) and len(img.convert("RGB").getcolors(65536)) > 1  # roads on the ground, not one colour


def test_how_long_a_tile_stays_fresh():
    import datetime as dt

    now = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)
    assert fetch._expires({"Cache-Control": "public, max-age=3600"}, now) == "2026-12-06T13:00:00Z"
    assert fetch._expires({"Cache-Control": "no-cache, max-age=3600"}, now) is None  # ask every time
    assert fetch._expires({"Expires": "Mon, 07 Dec 2026 12:00:00 GMT"}, now) == "2026-12-07T12:00:00Z"
    assert fetch._expires({"Expires": "0"}, now) is None and fetch._expires({}, now) is None
