"""Issue 21, "Đi tới": the distance and bearing a walker is given are pyproj's geodesic ones, and
the compass point is the nearest of eight."""

from __future__ import annotations

import pytest

from hatang_desktop.core import navigation


def test_distance_and_bearing_are_geodesic():
    from pyproj import Geod

    az, _, metres = Geod(ellps="WGS84").inv(105.906, 18.3435, 105.908, 18.345)
    distance, bearing = navigation.distance_bearing(18.3435, 105.906, 18.345, 105.908)
    assert distance == pytest.approx(metres) and bearing == pytest.approx(az % 360)
    assert 260 < distance < 280 and navigation.compass_point(bearing) == "Đông Bắc"
    # West of the point: the azimuth pyproj gives as negative is a 0-360 bearing.
    distance, bearing = navigation.distance_bearing(18.3435, 105.906, 18.3435, 105.9)
    assert bearing == pytest.approx(270, abs=0.01) and navigation.compass_point(bearing, "en") == "west"
    points = {0: "Bắc", 22.4: "Bắc", 22.6: "Đông Bắc", 90: "Đông", 135: "Đông Nam", 180: "Nam", 225: "Tây Nam",
              290: "Tây", 315: "Tây Bắc", 337.6: "Bắc", 359.9: "Bắc"}
    assert {deg: navigation.compass_point(deg) for deg in points} == points
