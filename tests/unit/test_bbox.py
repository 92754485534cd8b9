"""One rule for lon/lat bounding boxes (`harvesting.remotes.bbox`), and every
protocol's parser going through it: small overshoots are clamped, the 0..360
longitude convention is brought to -180..180, and what cannot be a lon/lat box
is None."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from harvesting.remotes.arcgis import describe, parse_target
from harvesting.remotes.bbox import TOLERANCE_DEGREES, lonlat_bbox
from harvesting.remotes.csw import dc_descriptor, iso_descriptor
from harvesting.remotes.geonode import normalise_resource
from harvesting.remotes.ogcapi_records import record_descriptor
from harvesting.remotes.stac import collection_descriptor, item_descriptor
from harvesting.remotes.wms import build_descriptor, parse_capabilities
from harvesting.remotes.xml import parse_xml

DATA = Path(__file__).resolve().parents[1] / "data"
WORLD = [-180.0, -90.0, 180.0, 90.0]
IMAGESERVER_EXTENT = {"xmin": -180.3125, "ymin": -90.25, "xmax": 179.6875, "ymax": 90.25}
IMAGESERVER_BBOX = [-180.0, -90.0, 179.6875, 90.0]


# --------------------------------------------------------------------------
# The rule
# --------------------------------------------------------------------------


@pytest.mark.fault("16")
def test_small_overshoots_are_clamped_not_dropped() -> None:
    """A box a little beyond ±180/±90 was dropped (bbox None): an ArcGIS
    ImageServer's {-180.3125, -90.25, 179.6875, 90.25} in wkid 4326 must be
    kept, clamped to [-180, -90, 179.6875, 90]."""
    assert lonlat_bbox(-180.3125, -90.25, 179.6875, 90.25) == IMAGESERVER_BBOX
    assert lonlat_bbox(-181.0, -91.0, 181.0, 91.0) == WORLD  # exactly the tolerance
    assert TOLERANCE_DEGREES == 1.0


@pytest.mark.fault("16")
def test_values_far_outside_the_ranges_are_not_lonlat() -> None:
    """Projected coordinates labelled as lon/lat, or latitudes beyond the
    tolerance, are not a lon/lat box: None rather than a clamped lie."""
    assert lonlat_bbox(500000.0, 4000000.0, 600000.0, 4100000.0) is None
    assert lonlat_bbox(-181.5, 0.0, 10.0, 10.0) is None
    assert lonlat_bbox(0.0, -91.5, 10.0, 10.0) is None
    assert lonlat_bbox(0.0, 0.0, 10.0, 92.0) is None
    assert lonlat_bbox(-10.0, 0.0, 370.0, 10.0) is None  # neither convention


@pytest.mark.fault("16")
def test_non_finite_values_and_inverted_latitudes_are_none() -> None:
    """NaN and infinities (ArcGIS writes "NaN" for empty layers) and a south
    above the north give no box."""
    for bad in (math.nan, math.inf, -math.inf):
        assert lonlat_bbox(bad, 0.0, 10.0, 10.0) is None
        assert lonlat_bbox(0.0, 0.0, 10.0, bad) is None
    assert lonlat_bbox(0.0, 20.0, 10.0, 10.0) is None


@pytest.mark.fault("17")
def test_the_0_to_360_convention_is_brought_to_minus_180_to_180() -> None:
    """Longitudes written 0..360 were stored as written (LatLonBoundingBox
    minx=0 maxx=360 became [0, -90, 360, 90]); they must come out in -180..180."""
    assert lonlat_bbox(0.0, -90.0, 360.0, 90.0) == WORLD
    assert lonlat_bbox(-0.5, -90.0, 360.5, 90.0) == WORLD
    # Entirely in 180..360: shifted by -360.
    assert lonlat_bbox(190.0, 10.0, 350.0, 20.0) == [-170.0, 10.0, -10.0, 20.0]
    assert lonlat_bbox(180.0, -10.0, 360.0, 10.0) == [-180.0, -10.0, 0.0, 10.0]
    # Crossing 180: an antimeridian-crossing box, west > east (GeoJSON, STAC).
    assert lonlat_bbox(100.0, -10.0, 260.0, 10.0) == [100.0, -10.0, -100.0, 10.0]
    # Crossing 0/360.
    assert lonlat_bbox(350.0, 0.0, 10.0, 5.0) == [-10.0, 0.0, 10.0, 5.0]


def test_ordinary_boxes_are_kept_as_floats() -> None:
    box = lonlat_bbox(-10, 20, 30, 40)
    assert box == [-10.0, 20.0, 30.0, 40.0]
    assert box is not None and all(type(v) is float for v in box)
    assert lonlat_bbox(170.0, -10.0, -170.0, 10.0) == [170.0, -10.0, -170.0, 10.0]  # crosses the antimeridian
    assert lonlat_bbox(0.0, 0.0, 0.0, 0.0) == [0.0, 0.0, 0.0, 0.0]  # a point


# --------------------------------------------------------------------------
# Every protocol through it
# --------------------------------------------------------------------------

WMS_111 = DATA / "wms" / "captured-mapserver-8.0.0" / "mapserver8_small5_GetCapabilities_111.xml"
WMS_130 = DATA / "wms" / "captured-mapserver-8.0.0" / "mapserver8_small5_GetCapabilities_130.xml"


def _wms_bbox(path: Path, old: str, new: str, layer: str = "layer_00000") -> Any:
    text = path.read_text(encoding="utf-8")
    assert old in text
    caps = parse_capabilities(text.replace(old, new).encode("utf-8"), "http://127.0.0.1/wms")
    found = caps.layer(layer)
    assert found is not None
    return build_descriptor(caps, found)["bbox"]


@pytest.mark.fault("16")
@pytest.mark.fault("17")
def test_wms_latlon_boxes_go_through_the_rule() -> None:
    """WMS LatLonBoundingBox (1.1.1) and EX_GeographicBoundingBox (1.3.0)
    were taken as written: a 0..360 box and an overshoot must be normalised."""
    old = '<LatLonBoundingBox minx="41.010800" miny="-76.248400" maxx="44.486100" maxy="-73.239500" />'
    assert _wms_bbox(WMS_111, old, '<LatLonBoundingBox minx="0" miny="-90" maxx="360" maxy="90" />') == WORLD
    overshoot = '<LatLonBoundingBox minx="-180.3125" miny="-90.25" maxx="179.6875" maxy="90.25" />'
    assert _wms_bbox(WMS_111, old, overshoot) == IMAGESERVER_BBOX
    ex_old = "<westBoundLongitude>41.010800</westBoundLongitude>\n            <eastBoundLongitude>44.486100"
    ex_new = "<westBoundLongitude>100</westBoundLongitude>\n            <eastBoundLongitude>260"
    assert _wms_bbox(WMS_130, ex_old, ex_new) == [100.0, -76.2484, -100.0, -73.2395]


@pytest.mark.fault("16")
@pytest.mark.fault("17")
def test_wms_bounding_boxes_in_epsg_4326_go_through_the_rule_after_axis_order() -> None:
    """A layer with only an EPSG:4326 BoundingBox (lat/lon under 1.3.0) gave
    its values unchecked; after the axis swap they follow the one rule."""
    text = WMS_130.read_text(encoding="utf-8")
    root = etree.fromstring(text.encode("utf-8"))
    for el in list(root.iter()):
        if isinstance(el.tag, str) and el.tag.endswith("EX_GeographicBoundingBox"):
            el.getparent().remove(el)
    layer = next(
        el for el in root.iter() if isinstance(el.tag, str) and el.tag.endswith("}Name") and el.text == "layer_00000"
    ).getparent()
    for box in [el for el in layer if isinstance(el.tag, str) and el.tag.endswith("BoundingBox")]:
        layer.remove(box)
    ns = root.nsmap[None]
    etree.SubElement(layer, f"{{{ns}}}BoundingBox", CRS="EPSG:4326", minx="-90.25", miny="0", maxx="90.25", maxy="360")
    caps = parse_capabilities(etree.tostring(root), "http://127.0.0.1/wms")
    found = caps.layer("layer_00000")
    assert found is not None and found.bbox == WORLD


def _imageserver(extent: dict[str, Any], wkid: int = 4326) -> Any:
    target = parse_target("http://127.0.0.1/arcgis/rest/services/Elevation/ImageServer")
    data = {"name": "Elevation", "extent": {**extent, "spatialReference": {"wkid": wkid}}}
    return describe(data, "ImageServer", target, "test")["bbox"]


@pytest.mark.fault("16")
@pytest.mark.fault("17")
def test_arcgis_extents_go_through_the_rule() -> None:
    """A real ImageServer extent {-180.3125, -90.25, 179.6875, 90.25} (wkid
    4326) gave bbox None; it is kept clamped. A 0..360 extent is brought to
    -180..180, and Web Mercator extents go through the same rule."""
    assert _imageserver(IMAGESERVER_EXTENT) == IMAGESERVER_BBOX
    assert _imageserver({"xmin": 0, "ymin": -90, "xmax": 360, "ymax": 90}) == WORLD
    assert _imageserver({"xmin": 190, "ymin": 10, "xmax": 350, "ymax": 20}) == [-170.0, 10.0, -10.0, 20.0]
    mercator = {"xmin": -20037508.3428, "ymin": -20037508.3428, "xmax": 20037508.3428, "ymax": 20037508.3428}
    box = _imageserver(mercator, 102100)
    assert box is not None and box[0] == -180.0 and box[2] == 180.0
    assert _imageserver({"xmin": 500000, "ymin": 4000000, "xmax": 600000, "ymax": 4100000}) is None


DC_RECORD = DATA / "csw" / "owslib" / "9250AA67-F3AC-6C12-0CB9-0662231AA181_dc.xml"
ISO_RECORD = DATA / "csw" / "geodatagov" / "cb_2016_us_division_500k.shp.iso.xml"


def _dc_bbox(lower: str, upper: str, crs: str = "EPSG:4326") -> Any:
    text = DC_RECORD.read_text(encoding="utf-8")
    original = (
        '<ows:BoundingBox crs="EPSG:4326">\n\t\t<ows:LowerCorner>-90 -180</ows:LowerCorner>\n'
        "\t\t<ows:UpperCorner>90 180</ows:UpperCorner>"
    )
    assert original in text
    replaced = (
        f'<ows:BoundingBox crs="{crs}">\n\t\t<ows:LowerCorner>{lower}</ows:LowerCorner>\n'
        f"\t\t<ows:UpperCorner>{upper}</ows:UpperCorner>"
    )
    root = parse_xml(text.replace(original, replaced).encode("utf-8"), "dc")
    return dc_descriptor(root)["bbox"]


def _iso_bbox(west: str, east: str, south: str, north: str) -> Any:
    root = parse_xml(ISO_RECORD.read_bytes(), "iso")
    values = {"westBoundLongitude": west, "eastBoundLongitude": east}
    values |= {"southBoundLatitude": south, "northBoundLatitude": north}
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] in values:
            decimal = next(iter(el))
            decimal.text = values[el.tag.rsplit("}", 1)[-1]]
    return iso_descriptor(root)["bbox"]


@pytest.mark.fault("16")
@pytest.mark.fault("17")
def test_csw_boxes_go_through_the_rule() -> None:
    """CSW ows:BoundingBox (after axis order) and gmd:EX_GeographicBoundingBox
    refused overshoots and kept 0..360 longitudes out; both follow the rule."""
    assert _dc_bbox("-90.25 -180.3125", "90.25 179.6875") == IMAGESERVER_BBOX
    assert _dc_bbox("-90 0", "90 360") == WORLD
    assert _dc_bbox("0 -90", "360 90", crs="urn:ogc:def:crs:OGC:1.3:CRS84") == WORLD
    assert _iso_bbox("-180.3125", "179.6875", "-90.25", "90.25") == IMAGESERVER_BBOX
    assert _iso_bbox("0", "360", "-90", "90") == WORLD
    assert _iso_bbox("100", "260", "-10", "10") == [100.0, -10.0, -100.0, 10.0]


STAC_ITEM = DATA / "ogcapi" / "stac" / "stac-spec" / "collectionless-item.json"
STAC_COLLECTION = DATA / "ogcapi" / "stac" / "stac-spec" / "collection.json"
RECORD = DATA / "ogcapi" / "records" / "captured-pycsw-3.0.0b2" / "item_dc_cite.json"


@pytest.mark.fault("16")
@pytest.mark.fault("17")
def test_ogcapi_and_stac_bbox_lists_go_through_the_rule() -> None:
    """OGC API Records and STAC `bbox` lists (and collection extents) used
    their own check: an overshoot gave None, a 0..360 box None too."""
    item = json.loads(STAC_ITEM.read_bytes())
    for raw, expected in (
        ([-180.3125, -90.25, 179.6875, 90.25], IMAGESERVER_BBOX),
        ([0, -90, 360, 90], WORLD),
        ([190, 10, 0, 350, 20, 5], [-170.0, 10.0, -10.0, 20.0]),
    ):
        edited = {**copy.deepcopy(item), "bbox": raw, "geometry": None}
        assert item_descriptor(edited, item["id"], "", "item")["bbox"] == expected
    collection = json.loads(STAC_COLLECTION.read_bytes())
    collection["extent"]["spatial"]["bbox"] = [[0, -90, 360, 90]]
    assert collection_descriptor(collection, f"collection:{collection['id']}", "", "c")["bbox"] == WORLD
    record = json.loads(RECORD.read_bytes())
    record["bbox"] = [-180.3125, -90.25, 179.6875, 90.25]
    record["geometry"] = None
    assert record_descriptor(record, f"metadata:main/{record['id']}", "", "r")["bbox"] == IMAGESERVER_BBOX
    record["bbox"] = [100, -10, 260, 10]
    assert record_descriptor(record, f"metadata:main/{record['id']}", "", "r")["bbox"] == [100.0, -10.0, -100.0, 10.0]


@pytest.mark.fault("17")
def test_geojson_geometries_go_through_the_rule() -> None:
    """A geometry in 0..360 longitudes (no bbox member) gave None."""
    item = json.loads(STAC_ITEM.read_bytes())
    item.pop("bbox", None)
    item["geometry"] = {"type": "Polygon", "coordinates": [[[190, 10], [350, 10], [350, 20], [190, 20], [190, 10]]]}
    assert item_descriptor(item, item["id"], "", "item")["bbox"] == [-170.0, 10.0, -10.0, 20.0]


GEONODE_DETAIL = DATA / "geonode" / "captured-geonode-4.4.5" / "dataset_detail_1028.json"


@pytest.mark.fault("16")
@pytest.mark.fault("17")
def test_geonode_boxes_go_through_the_rule() -> None:
    """GeoNode `extent.coords` and `ll_bbox_polygon` were taken unchecked."""
    entry = json.loads(GEONODE_DETAIL.read_bytes())["dataset"]
    entry["extent"] = {"coords": [-180.3125, -90.25, 179.6875, 90.25], "srid": "EPSG:4326"}
    assert normalise_resource(entry)["bbox"] == IMAGESERVER_BBOX
    entry["extent"] = {"coords": [0, -90, 360, 90], "srid": "EPSG:4326"}
    assert normalise_resource(entry)["bbox"] == WORLD
    entry["extent"] = None
    ring = [[190.0, 10.0], [190.0, 20.0], [350.0, 20.0], [350.0, 10.0], [190.0, 10.0]]
    entry["ll_bbox_polygon"] = {"type": "Polygon", "coordinates": [ring]}
    assert normalise_resource(entry)["bbox"] == [-170.0, 10.0, -10.0, 20.0]
    entry["ll_bbox_polygon"] = {"type": "Polygon", "coordinates": [[[5e5, 4e6], [6e5, 4e6], [6e5, 4.1e6], [5e5, 4e6]]]}
    assert normalise_resource(entry)["bbox"] is None
