"""Geofence check for remote check-in: great-circle (haversine) distance on a spherical Earth.

The spherical model errs by up to ~0.5 % against the WGS-84 ellipsoid, i.e. well under a metre
at office-sized radii (50-500 m) and far below phone GPS accuracy, so Vincenty buys nothing here.
"""

from __future__ import annotations

import math

# IUGG mean Earth radius.
EARTH_RADIUS_M = 6_371_008.8


class GeofenceError(ValueError):
    """Coordinates or a radius that cannot be a real place."""


def validate_coordinates(lat: float, lon: float, *, what: str = "position") -> None:
    for name, value, limit in (("latitude", lat, 90.0), ("longitude", lon, 180.0)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise GeofenceError(f"{what}: {name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise GeofenceError(f"{what}: {name} must be finite, got {value}")
        if not -limit <= value <= limit:
            raise GeofenceError(f"{what}: {name} {value} is outside [-{limit:g}, {limit:g}]")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points given in degrees."""
    validate_coordinates(lat1, lon1, what="first point")
    validate_coordinates(lat2, lon2, what="second point")
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    # min() guards asin against 1.0000000002 from rounding at antipodes.
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def inside(
    lat: float, lon: float, *, center_lat: float, center_lon: float, radius_m: float
) -> tuple[bool, float]:
    """(whether the point is within radius_m of the centre, boundary included; the distance in metres)."""
    if isinstance(radius_m, bool) or not isinstance(radius_m, int | float) or not math.isfinite(radius_m):
        raise GeofenceError(f"radius_m must be a finite number, got {radius_m!r}")
    if radius_m <= 0:
        raise GeofenceError(f"radius_m must be positive, got {radius_m}")
    validate_coordinates(center_lat, center_lon, what="geofence centre")
    validate_coordinates(lat, lon, what="position")
    d = distance_m(lat, lon, center_lat, center_lon)
    return d <= radius_m, d
