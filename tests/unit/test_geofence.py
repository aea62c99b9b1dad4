"""Haversine distance and the geofence check used for remote check-in."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hub.domain.geofence import EARTH_RADIUS_M, GeofenceError, distance_m, inside

# One degree of latitude on the mean-radius sphere.
DEG_M = math.pi * EARTH_RADIUS_M / 180


@pytest.mark.parametrize(
    ("a", "b", "expected_m", "tolerance_m"),
    [
        pytest.param((0.0, 0.0), (0.0, 0.0), 0.0, 1e-9, id="same_point"),
        pytest.param((0.0, 0.0), (1.0, 0.0), DEG_M, 1e-6, id="one_degree_of_latitude"),
        pytest.param((60.0, 10.0), (60.0, 11.0), DEG_M * 0.5, 1.0, id="longitude_shrinks_at_60N"),
        pytest.param((48.8566, 2.3522), (51.5074, -0.1278), 343_560.0, 1_000.0, id="paris_london"),
        pytest.param((0.0, 0.0), (0.0, 180.0), math.pi * EARTH_RADIUS_M, 1e-6, id="antipodes"),
        pytest.param((0.0, 179.9995), (0.0, -179.9995), DEG_M * 0.001, 1e-3, id="across_antimeridian"),
    ],
)
def test_distance(
    a: tuple[float, float], b: tuple[float, float], expected_m: float, tolerance_m: float
) -> None:
    assert distance_m(*a, *b) == pytest.approx(expected_m, abs=tolerance_m)
    assert distance_m(*b, *a) == pytest.approx(distance_m(*a, *b))


OFFICE = dict(center_lat=52.52, center_lon=13.405)


@pytest.mark.parametrize(
    ("north_m", "radius_m", "expected"),
    [
        pytest.param(0.0, 100.0, True, id="at_centre"),
        pytest.param(80.0, 100.0, True, id="inside"),
        pytest.param(100.0, 100.0001, True, id="on_boundary"),
        pytest.param(150.0, 100.0, False, id="outside"),
        pytest.param(5_000.0, 100.0, False, id="far_away"),
    ],
)
def test_inside(north_m: float, radius_m: float, expected: bool) -> None:
    lat = OFFICE["center_lat"] + north_m / DEG_M
    ok, dist = inside(lat, OFFICE["center_lon"], radius_m=radius_m, **OFFICE)
    assert ok is expected
    assert dist == pytest.approx(north_m, abs=1e-3)


@pytest.mark.parametrize(
    ("lat", "lon", "radius_m", "message"),
    [
        pytest.param(91.0, 0.0, 100.0, "latitude 91.0 is outside", id="lat_too_big"),
        pytest.param(-90.5, 0.0, 100.0, "latitude -90.5 is outside", id="lat_too_small"),
        pytest.param(0.0, 180.5, 100.0, "longitude 180.5 is outside", id="lon_too_big"),
        pytest.param(float("nan"), 0.0, 100.0, "finite", id="nan"),
        pytest.param(0.0, float("inf"), 100.0, "finite", id="inf"),
        pytest.param("52.5", 0.0, 100.0, "must be a number", id="string"),
        pytest.param(True, 0.0, 100.0, "must be a number", id="bool"),
        pytest.param(0.0, 0.0, 0.0, "positive", id="zero_radius"),
        pytest.param(0.0, 0.0, -5.0, "positive", id="negative_radius"),
        pytest.param(0.0, 0.0, float("nan"), "finite", id="nan_radius"),
    ],
)
def test_invalid_input(lat: Any, lon: Any, radius_m: Any, message: str) -> None:
    with pytest.raises(GeofenceError, match=message):
        inside(lat, lon, center_lat=0.0, center_lon=0.0, radius_m=radius_m)


def test_invalid_centre() -> None:
    with pytest.raises(GeofenceError, match="geofence centre: latitude"):
        inside(0.0, 0.0, center_lat=100.0, center_lon=0.0, radius_m=10.0)
