"""WMS GetCapabilities parsing and the WMS remote, on recorded documents (no network).

Expected values were read by hand from the documents under tests/data/wms.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from harvesting.remotes.base import RemoteError, RemoteOptions, empty_descriptor
from harvesting.remotes.http import HttpClient, Response
from harvesting.remotes.spool import SpooledBody
from harvesting.remotes.wms import (
    Capabilities,
    WmsRemote,
    build_descriptor,
    getmap_link,
    layer_resource,
    normalise_crs,
    parse_capabilities,
    with_params,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "wms"
URL = "http://127.0.0.1:8081/mapserv"

SMALL_111 = "captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_111.xml"
SMALL_130 = "captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_130.xml"
BIG_130 = "captured-mapserver-8.0.0/mapserver8_1000layers_GetCapabilities_130.xml"
MAPPROXY_111 = "captured-mapproxy-7.0.0/mapproxy7_50layers_GetCapabilities_111.xml"
MAPPROXY_130 = "captured-mapproxy-7.0.0/mapproxy7_50layers_GetCapabilities_130.xml"

# Lon/lat [w, s, e, n] of the five small layers, from the 1.3.0 EX_GeographicBoundingBox elements.
SMALL_BBOXES = {
    "layer_00000": [41.0108, -76.2484, 44.4861, -73.2395],
    "layer_00001": [73.0355, 21.5049, 82.0651, 23.2874],
    "layer_00002": [-30.7658, -75.5304, -27.7981, -69.9822],
    "layer_00003": [-161.2431, -50.1744, -154.3942, -44.2699],
    "layer_00004": [-97.2546, 8.3899, -88.9697, 9.4483],
}


def read(relative: str) -> bytes:
    return (DATA / relative).read_bytes()


def parse(relative: str, url: str = URL) -> Capabilities:
    return parse_capabilities(read(relative), url)


def without_elements(body: bytes, *local_names: str) -> bytes:
    """The document with every element of the given local names removed (at any depth)."""
    root = etree.fromstring(body, etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False))
    for el in list(root.iter()):
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] in local_names:
            el.getparent().remove(el)
    return cast(bytes, etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def query(url: str) -> dict[str, str]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    assert len({k for k, _ in pairs}) == len(pairs), f"duplicate parameters in {url}"
    return dict(pairs)


# --- MapServer 8, five layers ---------------------------------------------------------------


@pytest.mark.parametrize(("relative", "version"), [(SMALL_111, "1.1.1"), (SMALL_130, "1.3.0")])
def test_small_mapserver_layers(relative: str, version: str) -> None:
    caps = parse(relative)
    assert caps.version == version
    assert caps.title == "Harvester loopback test service (5 layers)"
    assert [layer.name for layer in caps.layers] == ["harvest_test", *SMALL_BBOXES]
    assert caps.getmap_url == "http://127.0.0.1:8081/mapserv?"
    assert caps.getmap_formats[0] == "image/png"
    assert caps.contacts == [{"name": "Jane Doe", "organisation": "Example Org", "email": "jane@example.org"}]
    assert caps.access_constraints == "none"
    assert caps.fees == "none"

    layer = caps.layer("layer_00002")
    assert layer is not None
    assert layer.title == "Test layer 2 (polygon)"
    assert layer.abstract == "Synthetic polygon layer number 2 for harvest scale testing"
    assert layer.keywords == ["synthetic", "polygon", "layer2"]
    # EPSG:4326 declared on the layer, the other two inherited from harvest_test.
    assert layer.crs_list == ["EPSG:4326", "EPSG:3857", "EPSG:32632"]
    assert layer.queryable is True
    assert layer.parent_layers == ["harvest_test"]
    assert layer.metadata_urls[0]["url"] == "http://127.0.0.1:8081/metadata/layer_00002.xml"
    assert layer.metadata_urls[0]["standard"] == "ISO19115:2003"

    root_layer = caps.layer("harvest_test")
    assert root_layer is not None and root_layer.bbox == [-180.0, -90.0, 180.0, 90.0]


@pytest.mark.parametrize("relative", [SMALL_111, SMALL_130])
def test_small_bboxes_are_lon_lat_in_both_versions(relative: str) -> None:
    caps = parse(relative)
    for name, expected in SMALL_BBOXES.items():
        layer = caps.layer(name)
        assert layer is not None
        assert layer.bbox == pytest.approx(expected), name


def test_130_epsg4326_bounding_box_is_latitude_first() -> None:
    # Without the geographic box, only <BoundingBox CRS="EPSG:4326" minx=<lat> miny=<lon> ...> is left.
    caps = parse_capabilities(without_elements(read(SMALL_130), "EX_GeographicBoundingBox"), URL)
    layer = caps.layer("layer_00000")
    assert layer is not None
    assert layer.bounding_boxes["EPSG:4326"] == [-76.2484, 41.0108, -73.2395, 44.4861]
    for name, expected in SMALL_BBOXES.items():
        found = caps.layer(name)
        assert found is not None and found.bbox == pytest.approx(expected), name


def test_111_epsg4326_bounding_box_is_longitude_first() -> None:
    caps = parse_capabilities(without_elements(read(SMALL_111), "LatLonBoundingBox"), URL)
    for name, expected in SMALL_BBOXES.items():
        found = caps.layer(name)
        assert found is not None and found.bbox == pytest.approx(expected), name


def test_nationalatlas_130_fallback_prefers_crs84_then_swaps_epsg4326() -> None:
    body = read("owslib/wms_nationalatlas_getcapabilities_130.xml")
    expected = [-176.646, 17.7016, -64.8017, 71.2854]
    for stripped in (
        without_elements(body, "EX_GeographicBoundingBox"),
        without_elements(body, "EX_GeographicBoundingBox").replace(
            b'BoundingBox CRS="CRS:84"', b'BoundingBox CRS="EPSG:2000"'
        ),
    ):
        layer = parse_capabilities(stripped, URL).layer("airports1m")
        assert layer is not None
        assert layer.bbox == pytest.approx(expected)


def test_getmap_link_130_uses_latitude_first_bbox_for_epsg4326() -> None:
    caps = parse(SMALL_130)
    layer = caps.layer("layer_00000")
    assert layer is not None
    url = getmap_link(caps, layer)
    assert url.startswith("http://127.0.0.1:8081/mapserv?")
    assert query(url) == {
        "SERVICE": "WMS",
        "REQUEST": "GetMap",
        "VERSION": "1.3.0",
        "LAYERS": "layer_00000",
        "STYLES": "",
        "FORMAT": "image/png",
        "WIDTH": "512",
        "HEIGHT": "443",  # 512 * lat span 3.0089 / lon span 3.4753: the image is in lon/lat even when BBOX is not
        "BBOX": "-76.2484,41.0108,-73.2395,44.4861",
        "CRS": "EPSG:4326",
    }


def test_getmap_link_111_uses_srs_and_longitude_first() -> None:
    caps = parse(SMALL_111)
    layer = caps.layer("layer_00001")
    assert layer is not None
    params = query(getmap_link(caps, layer))
    assert params["SRS"] == "EPSG:4326"
    assert "CRS" not in params
    assert params["BBOX"] == "73.0355,21.5049,82.0651,23.2874"
    assert params["VERSION"] == "1.1.1"
    assert (params["WIDTH"], params["HEIGHT"]) == ("512", "101")


def test_getmap_link_keeps_mapserver_map_parameter() -> None:
    body = read(SMALL_130).replace(
        b'xlink:href="http://127.0.0.1:8081/mapserv?"',
        b'xlink:href="http://127.0.0.1:8081/mapserv?map=/srv/test.map&amp;"',
    )
    caps = parse_capabilities(body, URL)
    layer = caps.layer("layer_00003")
    assert layer is not None
    params = query(getmap_link(caps, layer))
    assert params["map"] == "/srv/test.map"
    assert params["LAYERS"] == "layer_00003"


def test_with_params_replaces_case_insensitively_and_keeps_the_rest() -> None:
    url = with_params(
        "https://h/geoserver/wms?SERVICE=WMS&map=/a.map&request=GetFeatureInfo&x=",
        {"SERVICE": "WMS", "REQUEST": "GetMap"},
    )
    assert url == "https://h/geoserver/wms?map=/a.map&x=&SERVICE=WMS&REQUEST=GetMap"


def test_descriptor_of_a_small_layer() -> None:
    caps = parse(SMALL_130)
    layer = caps.layer("layer_00000")
    assert layer is not None
    d = build_descriptor(caps, layer)
    assert set(d) == set(empty_descriptor("x"))
    assert d["identifier"] == "layer_00000"
    assert d["title"] == "Test layer 0 (point)"
    assert d["keywords"] == ["synthetic", "point", "layer0"]
    assert d["bbox"] == pytest.approx(SMALL_BBOXES["layer_00000"])
    assert d["crs"] == "CRS:84"
    assert d["resource_type"] == "layer"
    assert d["license"] == "none"
    assert d["contacts"] == [{"name": "Jane Doe", "organisation": "Example Org", "email": "jane@example.org"}]
    assert d["dates"] == {}
    assert d["links"][0]["type"] == "OGC:WMS"
    assert d["links"][0]["name"] == "layer_00000"
    assert d["links"][0]["url"] == getmap_link(caps, layer)
    assert d["links"][1:] == [
        {
            "type": "metadata",
            "url": "http://127.0.0.1:8081/metadata/layer_00000.xml",
            "format": "text/xml",
            "standard": "ISO19115:2003",
        }
    ]
    assert d["extra"] == {
        "crs_list": ["EPSG:4326", "EPSG:3857", "EPSG:32632"],
        "styles": [],
        "queryable": True,
        "wms_version": "1.3.0",
        "parent_layers": ["harvest_test"],
        "fees": "none",
        "time": None,
    }


def test_raw_is_the_layer_fragment_alone() -> None:
    caps = parse(SMALL_130)
    root_layer = caps.layer("harvest_test")
    layer = caps.layer("layer_00004")
    assert root_layer is not None and layer is not None
    fragment = etree.fromstring(layer.raw)
    assert fragment.tag == "{http://www.opengis.net/wms}Layer"
    assert fragment.findtext("{http://www.opengis.net/wms}Name") == "layer_00004"
    assert b"layer_00003" not in layer.raw
    # A parent's raw keeps its own metadata but not the nested layers.
    assert b"<Name>harvest_test</Name>" in root_layer.raw
    assert b"layer_0000" not in root_layer.raw


def test_layer_resource_hash_and_not_found() -> None:
    first = layer_resource(parse(SMALL_130), "layer_00001")
    again = layer_resource(parse(SMALL_130), "layer_00001")
    other = layer_resource(parse(SMALL_130), "layer_00002")
    assert first.content_hash == again.content_hash
    assert first.content_hash != other.content_hash
    assert first.raw == read(SMALL_130)  # the whole document: what reimport reparses
    assert first.modified is None
    with pytest.raises(RemoteError) as caught:
        layer_resource(parse(SMALL_130), "layer_99999")
    assert caught.value.kind == "not-found"
    assert "layer_99999" in caught.value.message


# --- MapServer 8, 1000 layers in 10 groups --------------------------------------------------


def test_thousand_layers_with_groups() -> None:
    caps = parse(BIG_130)
    names = [layer.name for layer in caps.layers]
    assert len(names) == 1011  # harvest_test + group_0..group_9 + 1000 layers
    assert len(set(names)) == 1011
    assert [n for n in names if n.startswith("group_")] == [f"group_{i}" for i in range(10)]
    assert sum(1 for n in names if n.startswith("layer_")) == 1000

    layer = caps.layer("layer_00999")
    assert layer is not None
    assert layer.title == "Test layer 999 (point)"
    assert layer.parent_layers == ["harvest_test", "group_9"]
    assert layer.bbox == pytest.approx([32.8669, -74.1445, 40.9217, -68.6146])
    # Style is additive: the group's "default" style applies to its members.
    assert [(s.name, s.title) for s in layer.styles] == [("default", "default")]
    assert layer.crs_list == ["EPSG:4326", "EPSG:3857", "EPSG:32632"]

    group = caps.layer("group_3")
    assert group is not None
    assert group.bbox == [-180.0, -90.0, 180.0, 90.0]  # inherited from harvest_test
    assert b"layer_00300" not in group.raw
    assert len(group.raw) < 2000


# --- MapProxy 7 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("relative", "version"), [(MAPPROXY_111, "1.1.1"), (MAPPROXY_130, "1.3.0")])
def test_mapproxy_layers_inherit_crs_from_unnamed_root(relative: str, version: str) -> None:
    caps = parse(relative)
    assert caps.version == version
    assert [layer.name for layer in caps.layers] == [f"layer_{i:05d}" for i in range(50)]
    layer = caps.layer("layer_00007")
    assert layer is not None
    assert layer.title == "Cascaded layer 7"
    # MapProxy declares CRS only on the unnamed root layer.
    assert layer.crs_list == ["EPSG:4326", "EPSG:3857"]
    assert layer.parent_layers == []
    assert layer.queryable is False
    assert layer.bbox == pytest.approx([-180.0, -89.999999, 180.0, 89.999999])
    assert caps.getmap_url is not None and caps.getmap_url.startswith("http://127.0.0.1:8082/service")


# --- third-party servers (OWSLib's recorded documents) -------------------------------------


def test_geoserver_nested_layers_and_queryable_attribute() -> None:
    caps = parse("owslib/wms_geoserver-cap.xml")
    assert [layer.name for layer in caps.layers] == ["opengeo:poi", "parent_layer", "child_layer"]
    poi, parent, child = caps.layers
    assert [(s.name, s.title) for s in poi.styles] == [("point", "A boring default style")]
    assert poi.keywords == []
    assert parent.queryable is False
    assert child.queryable is True
    assert child.parent_layers == ["parent_layer"]
    # Neither parent_layer nor child_layer has a box or SRS of its own: both come from the root.
    assert child.bbox == [-74.012, 40.708, -74.002, 40.72]
    assert child.crs_list == ["EPSG:4326"]
    assert caps.getmap_url == "http://localhost:8080/geoserver/wms?SERVICE=WMS&"
    params = query(getmap_link(caps, child))
    assert params["SERVICE"] == "WMS"
    assert params["LAYERS"] == "child_layer"


def test_dov_130_crs84_link_and_metadata_urls() -> None:
    caps = parse("owslib/wms_dov_getcapabilities_130.xml")
    assert [layer.name for layer in caps.layers] == ["meetnetten"]
    layer = caps.layers[0]
    assert layer.title == "Grondwatermeetnetten"
    assert len(layer.keywords) == 12
    assert "Lijst M&R INSPIRE" in layer.keywords
    assert layer.crs_list == [
        "EPSG:25831", "EPSG:3043", "EPSG:31370", "EPSG:32631", "EPSG:3812",
        "EPSG:3857", "EPSG:4258", "EPSG:4326", "EPSG:900913", "CRS:84",
    ]  # fmt: skip
    assert [(s.name, s.title) for s in layer.styles] == [
        ("meetnetten", "Grondwatermeetnetten"),
        ("meetnetten_label", "Grondwatermeetnetten (met labels)"),
    ]
    assert len(layer.metadata_urls) == 2
    assert [m["format"] for m in layer.metadata_urls] == ["text/xml", "text/html"]
    assert "id=6c39d716-aecc-4fbc-bac8-4f05a49a78d5" in layer.metadata_urls[0]["url"]
    assert caps.contacts[0]["organisation"] == "Vlaamse Overheid - DOV"
    assert caps.fees == "No fees"
    params = query(getmap_link(caps, layer))
    assert params["CRS"] == "CRS:84"
    assert params["BBOX"] == "2.4985990253931107,49.35896492737394,5.959258812134792,52.81962471411561"


def test_dov_111_and_130_agree() -> None:
    a = parse("owslib/wms_dov_getcapabilities_111_nometadata.xml").layers[0]
    b = parse("owslib/wms_dov_getcapabilities_130.xml").layers[0]
    assert a.name == b.name == "meetnetten"
    assert a.bbox == b.bbox
    assert a.metadata_urls == []


def test_nationalatlas_130_inherits_crs_into_children() -> None:
    caps = parse("owslib/wms_nationalatlas_getcapabilities_130.xml")
    assert len(caps.layers) == 20
    assert caps.layers[0].name == "one_million"
    layer = caps.layer("airports1m")
    assert layer is not None
    assert layer.title == "1 Million Scale - Airports"
    assert layer.bbox == [-176.646, 17.7016, -64.8017, 71.2854]
    assert len(layer.crs_list) == 12 and layer.crs_list[:2] == ["CRS:84", "EPSG:4326"]
    assert layer.parent_layers == ["one_million"]
    assert query(getmap_link(caps, layer))["CRS"] == "CRS:84"


def test_mesonet_time_dimension() -> None:
    caps130 = parse("owslib/wms_mesonet-caps-130.xml")
    caps111 = parse("owslib/wms_mesonet-caps.xml")
    assert [layer.name for layer in caps130.layers] == ["nexrad_base_reflect", "time_idx", "nexrad-n0r-wmst"]
    assert [layer.name for layer in caps111.layers] == ["nexrad_base_reflect", "time_idx", "nexrad-n0r-wmst"]
    t130 = caps130.layer("time_idx")
    t111 = caps111.layer("time_idx")
    assert t130 is not None and t111 is not None
    assert t130.time_extent == "1995-01-01/2015-12-31/PT5M"
    assert t111.time_extent == "1995-01-01/2013-12-31/PT5M"
    assert t130.bbox == t111.bbox == [-126.0, 24.0, -66.0, 50.0]


def test_telascience_mapfile_srs_spelling() -> None:
    caps = parse("owslib/wms_Telascience.xml")
    layer = caps.layer("USGS_1ft_San_Diego")
    assert layer is not None
    assert layer.crs_list == ["EPSG:4326", "init=epsg:4326"]
    assert layer.bbox == [-117.673, 32.4976, -116.794, 33.5039]
    assert query(getmap_link(caps, layer))["SRS"] == "EPSG:4326"


@pytest.mark.parametrize(
    ("code", "normal"),
    [
        ("EPSG:4326", "EPSG:4326"),
        ("epsg:4326", "EPSG:4326"),
        ("urn:ogc:def:crs:EPSG::4326", "EPSG:4326"),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:4326"),
        ("init=epsg:4326", "EPSG:4326"),
        ("CRS:84", "CRS:84"),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", "CRS:84"),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "CRS:84"),
        ("EPSG:3857", "EPSG:3857"),
    ],
)
def test_normalise_crs(code: str, normal: str) -> None:
    assert normalise_crs(code) == normal


# --- documents that are not capabilities ----------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        "captured-mapserver-8.0.0/mapserver8_exception_LayerNotDefined_111.xml",
        "captured-mapserver-8.0.0/mapserver8_exception_LayerNotDefined_130.xml",
        "captured-mapproxy-7.0.0/mapproxy7_exception_130.xml",
    ],
)
def test_exception_reports_served_as_capabilities(relative: str) -> None:
    with pytest.raises(RemoteError) as caught:
        parse(relative)
    assert caught.value.kind == "exception-report"
    assert caught.value.message.startswith(f"{URL}: LayerNotDefined: ")


def test_wfs_capabilities_are_not_wms() -> None:
    with pytest.raises(RemoteError) as caught:
        parse("captured-mapserver-8.0.0/mapserver8_wfs_GetCapabilities_200.xml")
    assert caught.value.kind == "parse-error"
    assert caught.value.message == f"{URL}: answered with a WFS capabilities document, not a WMS capabilities document"


def test_bogus_bom_capabilities_parse_like_the_original() -> None:
    plain = parse(SMALL_111)
    served = parse_capabilities(b"\xff\xfe" + read(SMALL_111), URL)
    assert [layer.raw for layer in served.layers] == [layer.raw for layer in plain.layers]


# --- WmsRemote with a recorded server -------------------------------------------------------


class FakeHttp:
    """Answers every GET with one recorded body and counts the requests."""

    def __init__(self, body: bytes | Callable[[], bytes]) -> None:
        self.body = body
        self.urls: list[str] = []
        self._lock = threading.Lock()

    def get(self, url: str, params: dict[str, Any] | None = None, **_: Any) -> Response:
        assert params is None, "query built by the remote so existing parameters survive"
        with self._lock:
            self.urls.append(url)
        body = self.body() if callable(self.body) else self.body
        return Response(url=url, status=200, content_type="text/xml", body=body)

    def download(self, url: str) -> Response:
        answer = self.get(url)
        spooled = SpooledBody()
        spooled.write(answer.body)
        return Response(url=url, status=200, content_type=answer.content_type, body=b"", file=spooled.finish())


def remote(body: bytes | Callable[[], bytes], url: str = URL, **options: str) -> tuple[WmsRemote, FakeHttp]:
    fake = FakeHttp(body)
    return WmsRemote(url, RemoteOptions(dict(options)), cast(HttpClient, fake)), fake


def test_getcapabilities_request_keeps_existing_parameters() -> None:
    wms_remote, fake = remote(
        read(SMALL_111), url="http://h/cgi-bin/mapserv?map=/srv/a.map&service=wms", version="1.1.1"
    )
    assert wms_remote.check_availability() is True
    assert len(fake.urls) == 1
    assert parse_qs(urlsplit(fake.urls[0]).query) == {
        "map": ["/srv/a.map"],
        "SERVICE": ["WMS"],
        "REQUEST": ["GetCapabilities"],
        "VERSION": ["1.1.1"],
    }


def test_default_version_is_130() -> None:
    wms_remote, fake = remote(read(SMALL_130))
    wms_remote.list_resources(None)
    assert query(fake.urls[0])["VERSION"] == "1.3.0"


def test_listing_then_concurrent_fetches_cost_one_request() -> None:
    wms_remote, fake = remote(read(BIG_130))
    page = wms_remote.list_resources(None)
    assert page.next_cursor is None
    assert page.total == len(page.resources) == 1011
    assert page.resources[2].remote_id == "layer_00000"
    assert page.resources[2].title == "Test layer 0 (point)"
    assert page.resources[2].resource_type == "layer"
    with ThreadPoolExecutor(max_workers=16) as pool:
        fetched = list(pool.map(wms_remote.fetch, [r.remote_id for r in page.resources]))
    assert len(fake.urls) == 1
    assert fetched[2].descriptor["identifier"] == "layer_00000"
    assert len({f.content_hash for f in fetched}) == 1011


def test_concurrent_fetches_on_a_cold_cache_share_one_request() -> None:
    wms_remote, fake = remote(read(BIG_130))
    names = [f"layer_{i:05d}" for i in range(200)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        fetched = list(pool.map(wms_remote.fetch, names))
    assert len(fake.urls) == 1
    assert [f.descriptor["identifier"] for f in fetched] == names


def test_cache_expires_and_listing_always_refreshes(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("harvesting.remotes.wms.time.monotonic", lambda: clock[0])
    wms_remote, fake = remote(read(SMALL_130), cache_seconds="60")
    wms_remote.fetch("layer_00000")
    wms_remote.fetch("layer_00001")
    assert len(fake.urls) == 1
    clock[0] += 59
    wms_remote.fetch("layer_00002")
    assert len(fake.urls) == 1
    clock[0] += 2
    wms_remote.fetch("layer_00002")
    assert len(fake.urls) == 2
    wms_remote.list_resources(None)
    assert len(fake.urls) == 3
    wms_remote.fetch("layer_00003")
    assert len(fake.urls) == 3


def test_listing_replaces_the_cache() -> None:
    bodies = [read(SMALL_130), read(MAPPROXY_130)]
    wms_remote, _ = remote(lambda: bodies.pop(0))
    assert wms_remote.fetch("layer_00000").descriptor["title"] == "Test layer 0 (point)"
    page = wms_remote.list_resources(None)
    assert page.total == 50
    assert wms_remote.fetch("layer_00000").descriptor["title"] == "Cascaded layer 0"


@pytest.mark.parametrize(
    ("title_filter", "expected"),
    [
        ("POLYGON", ["layer_00002"]),
        ("line", ["layer_00001", "layer_00004"]),
        ("layer_0000", [f"layer_0000{i}" for i in range(5)]),  # names match too
        ("nothing like it", []),
    ],
)
def test_title_filter(title_filter: str, expected: list[str]) -> None:
    wms_remote, _ = remote(read(SMALL_130), title_filter=title_filter)
    page = wms_remote.list_resources(None)
    assert [r.remote_id for r in page.resources] == expected
    assert page.total == len(expected)


def test_fetch_unknown_layer_is_not_found() -> None:
    wms_remote, _ = remote(read(SMALL_130))
    with pytest.raises(RemoteError) as caught:
        wms_remote.fetch("no_such_layer")
    assert caught.value.kind == "not-found"


@pytest.mark.fault("availability")
def test_availability_says_why_on_exception_report_and_on_http_failure() -> None:
    """check_availability() returned a bare False, so the harvester showed
    "unavailable" with no reason: it now raises the RemoteError that says why."""
    wms_remote, _ = remote(read("captured-mapproxy-7.0.0/mapproxy7_exception_130.xml"))
    with pytest.raises(RemoteError) as caught:
        wms_remote.check_availability()
    assert caught.value.kind == "exception-report" and "unknown layer: nope" in caught.value.message
    with pytest.raises(RemoteError) as caught:
        wms_remote.list_resources(None)
    assert caught.value.kind == "exception-report"

    def unreachable() -> bytes:
        raise RemoteError("unreachable", "connection refused")

    wms_remote, _ = remote(unreachable)
    with pytest.raises(RemoteError) as caught:
        wms_remote.check_availability()
    assert caught.value.kind == "unreachable"


def test_bad_version_option() -> None:
    with pytest.raises(RemoteError) as caught:
        remote(read(SMALL_130), version="2.0")
    assert caught.value.kind == "bad-option"


def test_fetched_raw_is_the_capabilities_document_and_reparses_to_the_same_record() -> None:
    wms_remote, fake = remote(read(BIG_130))
    fetched = wms_remote.fetch("layer_00500")
    assert fetched.raw == read(BIG_130)
    requests_before = len(fake.urls)
    again = wms_remote.reparse(fetched.raw, "layer_00500")
    assert len(fake.urls) == requests_before  # no I/O
    assert again.descriptor == fetched.descriptor
    assert again.content_hash == fetched.content_hash
    with pytest.raises(RemoteError) as caught:
        wms_remote.reparse(b"<broken", "layer_00500")
    assert caught.value.kind == "parse-error"
