"""The one rule every protocol applies to a bounding box in lon/lat.

Remotes write lon/lat boxes loosely: ArcGIS ImageServers give extents a
fraction of a degree past the poles and the antimeridian, WMS servers and
older catalogues write longitudes in 0..360, and projected coordinates turn up
labelled as WGS84. A descriptor's `bbox` is [west, south, east, north] with
longitudes in -180..180 and latitudes in -90..90, west > east meaning the box
crosses the antimeridian (as GeoJSON and STAC allow), or None.
"""

from __future__ import annotations

import math

# How far past ±180 / ±90 (and 0..360) a value may go and still be read as a
# rounding or pixel-edge overshoot, clamped. Real overshoots are fractions of
# a degree (an ImageServer's -180.3125 is half a pixel); a degree leaves room
# for coarser rasters while anything further out is taken for what it usually
# is, projected coordinates mislabelled as lon/lat.
TOLERANCE_DEGREES = 1.0


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _longitudes(west: float, east: float) -> tuple[float, float] | None:
    tol = TOLERANCE_DEGREES
    if -180.0 - tol <= west <= 180.0 + tol and -180.0 - tol <= east <= 180.0 + tol:
        return _clamp(west, -180.0, 180.0), _clamp(east, -180.0, 180.0)
    if not (-tol <= west <= 360.0 + tol and -tol <= east <= 360.0 + tol):
        return None
    # 0..360: only reached when a longitude is past 180 + tolerance.
    west, east = _clamp(west, 0.0, 360.0), _clamp(east, 0.0, 360.0)
    if east - west >= 360.0 - tol:
        return -180.0, 180.0
    # A west edge at 180 starts the western hemisphere; an east edge at 180
    # ends the eastern one.
    west = west - 360.0 if west >= 180.0 else west
    east = east - 360.0 if east > 180.0 else east
    return west, east


def lonlat_bbox(west: float, south: float, east: float, north: float) -> list[float] | None:
    """[west, south, east, north] in -180..180 / -90..90, or None when the
    values cannot be a lon/lat box (not finite, south above north, or further
    than TOLERANCE_DEGREES outside both longitude conventions)."""
    values = (west, south, east, north)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        return None
    west, south, east, north = (float(v) for v in values)
    tol = TOLERANCE_DEGREES
    if not (-90.0 - tol <= south <= 90.0 + tol and -90.0 - tol <= north <= 90.0 + tol) or south > north:
        return None
    longitudes = _longitudes(west, east)
    if longitudes is None:
        return None
    return [longitudes[0], _clamp(south, -90.0, 90.0), longitudes[1], _clamp(north, -90.0, 90.0)]
