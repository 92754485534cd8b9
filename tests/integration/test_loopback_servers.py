"""The loopback remotes the harvester is tested against behave like the real ones.

GeoNode and WMS are played from recorded documents by LoopbackServer; MapServer
is the real thing (installed with apt when missing, failing the test if it
cannot be).
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from harvesting.demo.server import (
    SLOW_DELAY_S,
    GeoNodeSite,
    LoopbackServer,
    WmsSite,
    capabilities_layer_names,
    read_bundled,
)
from harvesting.demo.sites import (
    GEONODE_PREFIX,
    WMS_DOCUMENTS,
    geonode_captures,
    start_demo_server,
    wms_documents,
)
from tests.servers import mapserver as mapserver_module
from tests.servers.mapserver import (
    MapServerHandle,
    ensure_mapserver_installed,
    layer_name,
    start_mapserver,
)

GEONODE_DIR = "geonode/captured-geonode-4.4.5"
MESONET_111_NAMES = ["nexrad_base_reflect", "time_idx", "nexrad-n0r-wmst"]
CAPS = {"SERVICE": "WMS", "REQUEST": "GetCapabilities"}


def recorded_json(name: str) -> Any:
    return json.loads(read_bundled(f"{GEONODE_DIR}/{name}"))


def safe_parse(body: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(body, parser=parser)


def local(element: Any) -> str:
    return str(etree.QName(element).localname)


# --------------------------------------------------------------------------- #
# fixtures
# --------------------------------------------------------------------------- #


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as s:
        yield s


@pytest.fixture
def geonode(server: LoopbackServer) -> GeoNodeSite:
    resources, details = geonode_captures()
    return server.mount_geonode("/geonode", resources, details)


@pytest.fixture
def api(server: LoopbackServer, geonode: GeoNodeSite) -> str:
    return server.url + "/geonode/api/v2"


@pytest.fixture
def mesonet(server: LoopbackServer) -> WmsSite:
    return server.mount_wms("/wms", wms_documents("mesonet"))


@pytest.fixture
def wms_url(server: LoopbackServer, mesonet: WmsSite) -> str:
    return server.url + "/wms"


# --------------------------------------------------------------------------- #
# bundled data
# --------------------------------------------------------------------------- #


def test_bundled_documents_are_listed_in_the_bundled_manifest() -> None:
    manifest = read_bundled("MANIFEST.md").decode("utf-8")
    data_dir = Path(__file__).resolve().parents[2] / "harvesting" / "demo" / "data"
    files = sorted(p for p in data_dir.rglob("*") if p.is_file() and p.name != "MANIFEST.md")
    assert len(files) == 18
    for path in files:
        relative = path.relative_to(data_dir).as_posix()
        assert f"`{relative}`" in manifest or f"`{path.name}`" in manifest, relative
        assert f"| {path.stat().st_size} |" in manifest, relative


def test_geonode_captures_dedupes_and_orders_like_geonode() -> None:
    resources, details = geonode_captures()
    pks = [int(r["pk"]) for r in resources]
    assert pks == sorted(pks, reverse=True)
    assert pks == [1028, 1027, 1026, 1025, 1024, 19, 18, 10, 9, 8, 3, 2, 1]
    assert len({r["uuid"] for r in resources}) == len(resources)
    assert sorted(details, key=int) == ["28", "1028"]
    assert details["1028"] == recorded_json("dataset_detail_1028.json")["dataset"]
    assert details["28"]["title"] == recorded_json("dataset_detail_testdata_28.json")["dataset"]["title"]


def test_wms_documents_are_the_recorded_ones() -> None:
    for name, paths in WMS_DOCUMENTS.items():
        documents = wms_documents(name)
        assert set(documents) == {"1.1.1", "1.3.0"}
        for version, path in paths.items():
            assert documents[version] == read_bundled(path)
    with pytest.raises(KeyError):
        wms_documents("geoserver")


# --------------------------------------------------------------------------- #
# LoopbackServer itself
# --------------------------------------------------------------------------- #


def test_static_document_and_unknown_paths(server: LoopbackServer, client: httpx.Client) -> None:
    server.mount_document("/doc.json", b'{"a":1}', "application/json")
    server.mount_document("/gone", b"gone", "text/plain", status=410)
    answer = client.get(server.url + "/doc.json")
    assert (answer.status_code, answer.headers["content-type"], answer.content) == (
        200,
        "application/json",
        b'{"a":1}',
    )
    assert client.get(server.url + "/gone").status_code == 410
    assert client.get(server.url + "/nothing/here").status_code == 404
    assert client.post(server.url + "/doc.json", content=b"x").status_code == 405
    assert client.head(server.url + "/doc.json").headers["content-length"] == "7"


def test_stop_really_stops_and_restart_keeps_the_url(client: httpx.Client) -> None:
    server = LoopbackServer()
    server.mount_document("/x", b"x", "text/plain")
    server.start()
    url = server.url
    assert client.get(url + "/x").status_code == 200  # leaves a pooled keep-alive connection
    server.stop()
    with pytest.raises(httpx.TransportError):
        client.get(url + "/x")
    server.start()
    try:
        assert server.url == url
        assert client.get(url + "/x").content == b"x"
    finally:
        server.stop()


def test_client_disconnects_leave_no_traceback(
    server: LoopbackServer, mesonet: WmsSite, capfd: pytest.CaptureFixture[str]
) -> None:
    server.mount_document("/big", b"x" * 4_000_000, "application/octet-stream")
    for path in ("/big", "/wms?SERVICE=WMS&REQUEST=GetCapabilities"):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.close()  # linger 0: reset the connection mid-answer
    time.sleep(0.3)
    with httpx.Client() as c:
        assert c.get(server.url + "/big").status_code == 200
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err
    assert captured.err == ""


# --------------------------------------------------------------------------- #
# GeoNode emulation
# --------------------------------------------------------------------------- #


def test_geonode_api_root_points_at_the_loopback_site(server: LoopbackServer, api: str, client: httpx.Client) -> None:
    answer = client.get(api + "/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    root = answer.json()
    assert set(root) == set(recorded_json("api_v2_root.json"))
    assert root["resources"] == api + "/resources"
    assert all(url.startswith(server.url + "/geonode/api/v2/") for url in root.values())


def test_geonode_pages_like_geonode(api: str, client: httpx.Client) -> None:
    resources, _ = geonode_captures()
    first = client.get(api + "/resources", params={"page_size": 5}).json()
    assert (first["total"], first["page"], first["page_size"]) == (13, 1, 5)
    assert first["links"] == {"next": api + "/resources?page=2&page_size=5", "previous": None}
    assert [r["pk"] for r in first["resources"]] == ["1028", "1027", "1026", "1025", "1024"]
    # Listing entries keep the recorded /resources serialisation, with this site's URLs.
    assert first["resources"][0]["link"] == api + "/resources/1028"
    assert set(first["resources"][0]) == set(recorded_json("resources_page1_size5.json")["resources"][0])

    second = client.get(first["links"]["next"]).json()
    # DRF drops page=1 from the previous link rather than writing it.
    assert second["links"]["previous"] == api + "/resources?page_size=5"

    seen, url, pages = [], api + "/resources?page_size=5", 0
    while url:
        page = client.get(url).json()
        seen += [r["uuid"] for r in page["resources"]]
        url, pages = page["links"]["next"], pages + 1
    assert pages == 3
    assert seen == [r["uuid"] for r in resources]

    defaults = client.get(api + "/resources").json()
    assert (defaults["page"], defaults["page_size"], len(defaults["resources"])) == (1, 10, 10)
    last = client.get(api + "/resources", params={"page": 3, "page_size": 5}).json()
    assert last["page"] == 3 and last["links"]["next"] is None
    assert [r["pk"] for r in last["resources"]] == ["3", "2", "1"]


def test_geonode_page_out_of_range_is_the_recorded_404(api: str, client: httpx.Client) -> None:
    for page in ("999", "4", "0", "abc", "last"):
        answer = client.get(api + "/resources", params={"page": page, "page_size": 5})
        assert answer.status_code == 404
        assert answer.json() == recorded_json("resources_page_out_of_range_404.json")


def test_geonode_filters(api: str, client: httpx.Client) -> None:
    def pks(**params: Any) -> list[str]:
        answer = client.get(api + "/resources", params={"page_size": 100, **params})
        assert answer.status_code == 200
        return [r["pk"] for r in answer.json()["resources"]]

    assert pks(**{"filter{resource_type}": "map"}) == ["10", "9", "8", "3", "2", "1"]
    both = client.get(
        api + "/resources?filter{resource_type.in}=document&filter{resource_type.in}=map&page_size=100"
    ).json()
    assert {r["resource_type"] for r in both["resources"]} == {"document", "map"}
    assert both["total"] == 8
    assert pks(**{"filter{title.icontains}": "TITLEDUPE"}) == ["19", "18", "9", "8"]
    assert pks(**{"filter{uuid}": "72ec2bc7-c198-475c-bdeb-7554b95ff114"}) == ["1028"]
    assert pks(**{"filter{uuid}": "no-such-uuid"}) == []

    paged = client.get(api + "/resources", params={"filter{resource_type}": "map", "page_size": 3}).json()
    # Same link GeoNode 4.4.5 gave for this query (resources_filter_type_map.json), on this host.
    recorded_next = recorded_json("resources_filter_type_map.json")["links"]["next"]
    assert paged["links"]["next"] == recorded_next.replace("http://127.0.0.1:8084/api/v2", api)

    datasets = client.get(api + "/datasets", params={"page_size": 3}).json()
    assert [d["pk"] for d in datasets["datasets"]] == ["1028", "1027", "1026"]
    assert datasets["total"] == 5


def test_geonode_details(api: str, client: httpx.Client) -> None:
    site = api.removesuffix("/api/v2")
    dataset = client.get(api + "/datasets/1028")
    assert dataset.status_code == 200
    # Every URL recorded on the original host now points at the loopback site.
    recorded = json.dumps(recorded_json("dataset_detail_1028.json"))
    assert dataset.json() == json.loads(recorded.replace("http://127.0.0.1:8084", site))
    assert dataset.json()["dataset"]["detail_url"] == site + "/catalogue/#/dataset/1028"

    resource = client.get(api + "/resources/1028").json()
    recorded = json.dumps(recorded_json("resource_detail_1028.json"))
    assert resource == json.loads(recorded.replace("http://127.0.0.1:8084", site))

    # Not recorded as a detail: the listing entry stands in for it.
    document = client.get(api + "/documents/19").json()["document"]
    assert (document["pk"], document["resource_type"]) == ("19", "document")
    assert client.get(api + "/maps/9").json()["map"]["uuid"] == "653c1319-7e32-4455-aaa5-c89d34b717d9"
    # Recorded detail of a resource no recorded listing shows.
    assert client.get(api + "/datasets/28").json()["dataset"]["pk"] == "28"

    for path in ("/datasets/424242", "/maps/1028", "/documents/9"):
        missing = client.get(api + path)
        assert missing.status_code == 404, path
        assert missing.json() == recorded_json("dataset_not_found_404.json")


def test_geonode_remove_and_restore(geonode: GeoNodeSite, api: str, client: httpx.Client) -> None:
    gone = ["72ec2bc7-c198-475c-bdeb-7554b95ff114", "653c1319-7e32-4455-aaa5-c89d34b717d9"]
    geonode.remove(gone)
    listing = client.get(api + "/resources", params={"page_size": 100}).json()
    assert listing["total"] == 11
    assert not {r["uuid"] for r in listing["resources"]} & set(gone)
    assert client.get(api + "/resources/1028").status_code == 404
    assert client.get(api + "/datasets/1028").status_code == 404
    assert client.get(api + "/maps/9").status_code == 404
    geonode.restore()
    assert client.get(api + "/resources").json()["total"] == 13
    assert client.get(api + "/datasets/1028").status_code == 200


def test_geonode_add_and_update(geonode: GeoNodeSite, api: str, client: httpx.Client) -> None:
    resources, _ = geonode_captures()
    new = dict(resources[0], pk="2000", uuid="00000000-0000-0000-0000-000000002000", title="brand new")
    geonode.add(new)
    first = client.get(api + "/resources", params={"page_size": 1}).json()
    assert first["resources"][0]["title"] == "brand new" and first["total"] == 14
    geonode.update("72ec2bc7-c198-475c-bdeb-7554b95ff114", {"title": "renamed"})
    assert client.get(api + "/datasets/1028").json()["dataset"]["title"] == "renamed"
    assert client.get(api + "/resources/1028").json()["resource"]["title"] == "renamed"


def test_geonode_faults(geonode: GeoNodeSite, api: str, client: httpx.Client) -> None:
    geonode.set_fault("http-500")
    assert client.get(api + "/resources").status_code == 500
    assert client.get(api + "/datasets/1028").status_code == 500

    geonode.set_fault("malformed")
    answer = client.get(api + "/resources")
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)

    geonode.set_fault("empty-listing")
    empty = client.get(api + "/resources").json()
    assert (empty["total"], empty["resources"], empty["links"]["next"]) == (0, [], None)

    geonode.set_fault("slow")
    with pytest.raises(httpx.ReadTimeout):
        client.get(api + "/resources", timeout=0.5)

    geonode.set_fault(None)
    assert client.get(api + "/resources").json()["total"] == 13
    with pytest.raises(ValueError):
        geonode.set_fault("exception-200")


def test_geonode_counts_detail_requests(geonode: GeoNodeSite, api: str, client: httpx.Client) -> None:
    client.get(api + "/resources")
    client.get(api + "/datasets/1028")
    client.get(api + "/resources/1")
    client.get(api + "/maps/424242")
    assert geonode.requests == 3
    assert geonode.listing_requests == 1


def test_geonode_serves_concurrent_clients_while_changing(geonode: GeoNodeSite, api: str) -> None:
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        with httpx.Client(timeout=10) as c:
            while not stop.is_set():
                page = c.get(api + "/resources", params={"page_size": 100}).json()
                if page["total"] not in (12, 13) or len(page["resources"]) != page["total"]:
                    errors.append(f"inconsistent page: {page['total']}")

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(50):
        geonode.remove(["72ec2bc7-c198-475c-bdeb-7554b95ff114"])
        geonode.restore()
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []


# --------------------------------------------------------------------------- #
# WMS emulation
# --------------------------------------------------------------------------- #


def test_wms_serves_the_recorded_documents(wms_url: str, client: httpx.Client) -> None:
    documents = wms_documents("mesonet")
    answer = client.get(wms_url, params={**CAPS, "VERSION": "1.1.1"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.ogc.wms_xml; charset=ISO-8859-1"
    assert answer.content == documents["1.1.1"]
    answer = client.get(wms_url, params={**CAPS, "VERSION": "1.3.0"})
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.content == documents["1.3.0"]
    # Parameter names are case-insensitive, as are MapServer's.
    answer = client.get(wms_url + "?service=wms&request=getcapabilities&version=1.1.1")
    assert answer.content == documents["1.1.1"]
    # Unknown or missing VERSION: the highest.
    assert client.get(wms_url, params={**CAPS, "VERSION": "9.9.9"}).content == documents["1.3.0"]
    assert client.get(wms_url, params=CAPS).content == documents["1.3.0"]


def test_wms_other_requests_get_an_exception_with_http_200(wms_url: str, client: httpx.Client) -> None:
    for version, content_type in (("1.1.1", "application/vnd.ogc.se_xml"), ("1.3.0", "text/xml")):
        answer = client.get(wms_url, params={"SERVICE": "WMS", "REQUEST": "GetMap", "VERSION": version})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(content_type)
        root = safe_parse(answer.content)
        assert local(root) == "ServiceExceptionReport"
        assert root.get("version") == version


def test_wms_remove_layers_and_restore(mesonet: WmsSite, wms_url: str, client: httpx.Client) -> None:
    original = wms_documents("mesonet")
    assert capabilities_layer_names(original["1.1.1"]) == MESONET_111_NAMES
    mesonet.remove_layers(["time_idx"])
    for version in ("1.1.1", "1.3.0"):
        body = client.get(wms_url, params={**CAPS, "VERSION": version}).content
        assert capabilities_layer_names(body) == ["nexrad_base_reflect", "nexrad-n0r-wmst"]
        # The rest of the document stays as recorded: prolog, DOCTYPE, encoding.
        assert body.split(b"<WM", 1)[0] == original[version].split(b"<WM", 1)[0]
        assert b"time_idx" not in body
    mesonet.remove_layers(["nexrad-n0r-wmst"])
    assert mesonet.layer_names("1.1.1") == ["nexrad_base_reflect"]
    # Removing the top layer takes its sublayers with it.
    mesonet.remove_layers(["nexrad_base_reflect"])
    assert mesonet.layer_names("1.3.0") == []
    mesonet.restore()
    assert client.get(wms_url, params={**CAPS, "VERSION": "1.1.1"}).content == original["1.1.1"]


def test_wms_faults(mesonet: WmsSite, wms_url: str, client: httpx.Client) -> None:
    mesonet.set_fault("http-500")
    answer = client.get(wms_url, params=CAPS)
    assert answer.status_code == 500 and answer.headers["content-type"].startswith("text/plain")

    mesonet.set_fault("exception-200")
    answer = client.get(wms_url, params={**CAPS, "VERSION": "1.3.0"})
    assert answer.status_code == 200
    assert answer.content == read_bundled("wms/captured-mapserver-8.0.0/mapserver8_exception_LayerNotDefined_130.xml")
    assert local(safe_parse(answer.content)) == "ServiceExceptionReport"

    mesonet.set_fault("malformed")
    answer = client.get(wms_url, params=CAPS)
    assert answer.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        safe_parse(answer.content)

    mesonet.set_fault("empty-listing")
    for version in ("1.1.1", "1.3.0"):
        answer = client.get(wms_url, params={**CAPS, "VERSION": version})
        root = safe_parse(answer.content)
        assert local(root) in ("WMT_MS_Capabilities", "WMS_Capabilities")
        assert capabilities_layer_names(answer.content) == []
        assert sum(1 for e in root.iter() if isinstance(e.tag, str) and local(e) == "Layer") == 1

    mesonet.set_fault("slow")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.get(wms_url, params=CAPS, timeout=0.5)
    assert time.monotonic() - started < SLOW_DELAY_S

    mesonet.set_fault(None)
    assert client.get(wms_url, params=CAPS).content == wms_documents("mesonet")["1.3.0"]
    with pytest.raises(ValueError):
        mesonet.set_fault("teapot")


def test_wms_counts_getcapabilities_requests(mesonet: WmsSite, wms_url: str, client: httpx.Client) -> None:
    client.get(wms_url, params=CAPS)
    client.get(wms_url, params={"SERVICE": "WMS", "REQUEST": "GetMap"})
    mesonet.set_fault("http-500")
    client.get(wms_url, params=CAPS)
    assert mesonet.requests == 2


def test_slow_answers_do_not_hold_up_stop(client: httpx.Client) -> None:
    server = LoopbackServer()
    site = server.mount_wms("/wms", wms_documents("mesonet"))
    server.start()
    site.set_fault("slow")
    failures: list[BaseException] = []

    def slow_request() -> None:
        try:
            client.get(server.url + "/wms", params=CAPS, timeout=30)
        except httpx.HTTPError as error:
            failures.append(error)

    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    server.stop()
    thread.join(timeout=10)
    assert time.monotonic() - started < 2
    assert len(failures) == 1  # the server vanished instead of answering


def test_demo_server_hosts_every_recorded_remote(client: httpx.Client) -> None:
    server, urls = start_demo_server()
    try:
        assert set(urls) == {"geonode", "wms-mesonet", "wms-mapserver"}
        listing = client.get(urls["geonode"] + "/api/v2/resources").json()
        assert listing["total"] == 13
        assert isinstance(server.site(GEONODE_PREFIX), GeoNodeSite)
        small5 = client.get(urls["wms-mapserver"], params={**CAPS, "VERSION": "1.1.1"}).content
        assert capabilities_layer_names(small5) == ["harvest_test"] + [f"layer_{i:05d}" for i in range(5)]
        mesonet = client.get(urls["wms-mesonet"], params=CAPS).content
        assert capabilities_layer_names(mesonet) == MESONET_111_NAMES
    finally:
        server.stop()


# --------------------------------------------------------------------------- #
# real MapServer
# --------------------------------------------------------------------------- #


@pytest.fixture
def mapserver(tmp_path: Path) -> Iterator[MapServerHandle]:
    ensure_mapserver_installed()
    with start_mapserver(tmp_path, 3) as handle:
        yield handle


def named_layers(root: Any) -> dict[str, Any]:
    layers = {}
    for element in root.iter():
        if isinstance(element.tag, str) and local(element) == "Layer":
            name = next((c.text for c in element if local(c) == "Name"), None)
            if name:
                layers[name] = element
    return layers


def test_mapserver_capabilities_list_every_layer(mapserver: MapServerHandle, client: httpx.Client) -> None:
    expected = [layer_name(i) for i in range(3)]
    for version, content_type, srs_tag in (
        ("1.1.1", "application/vnd.ogc.wms_xml", "SRS"),
        ("1.3.0", "text/xml", "CRS"),
    ):
        answer = client.get(mapserver.url, params={**CAPS, "VERSION": version})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(content_type)
        root = safe_parse(answer.content)
        assert root.get("version") == version
        layers = named_layers(root)
        assert list(layers) == expected
        titles = {next(c.text for c in layer if local(c) == "Title") for layer in layers.values()}
        assert len(titles) == 3
        srs = {e.text for e in root.iter() if isinstance(e.tag, str) and local(e) == srs_tag}
        assert {"EPSG:4326", "EPSG:3857"} <= srs
        # The service advertises the wrapper's own URL, so a harvester can follow it.
        assert mapserver.url in answer.text
    assert mapserver.requests == 2


def test_mapserver_layers_can_be_removed_and_added(mapserver: MapServerHandle, client: httpx.Client) -> None:
    mapserver.remove_layers([layer_name(1)])
    for version in ("1.1.1", "1.3.0"):
        body = client.get(mapserver.url, params={**CAPS, "VERSION": version}).content
        assert capabilities_layer_names(body) == [layer_name(0), layer_name(2)]
    mapserver.restore()
    mapserver.set_layers(5)
    body = client.get(mapserver.url, params={**CAPS, "VERSION": "1.3.0"}).content
    assert capabilities_layer_names(body) == [layer_name(i) for i in range(5)]
    assert mapserver.layer_names == [layer_name(i) for i in range(5)]
    mapserver.set_layers(0)
    body = client.get(mapserver.url, params={**CAPS, "VERSION": "1.3.0"}).content
    assert capabilities_layer_names(body) == []


def test_mapserver_reports_errors_with_http_200(mapserver: MapServerHandle, client: httpx.Client) -> None:
    answer = client.get(
        mapserver.url,
        params={"SERVICE": "WMS", "REQUEST": "GetMap", "VERSION": "1.1.1", "LAYERS": "nope"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.ogc.se_xml")
    assert local(safe_parse(answer.content)) == "ServiceExceptionReport"
    # A client cannot point the wrapper at another mapfile.
    answer = client.get(mapserver.url, params={**CAPS, "map": "/etc/passwd"})
    assert capabilities_layer_names(answer.content) == [layer_name(i) for i in range(3)]


def test_missing_mapserver_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []

    def failing_apt(*args: str) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(["apt-get", *args], 100, "", "E: Unable to locate package")

    monkeypatch.setattr(mapserver_module, "_find_mapserv", lambda: None)
    monkeypatch.setattr(mapserver_module, "_run_apt", failing_apt)
    with pytest.raises(RuntimeError, match="could not be installed"):
        ensure_mapserver_installed()
    # Installing, then refreshing the package lists and installing again.
    assert [call[0] for call in calls] == ["install", "update", "install"]
