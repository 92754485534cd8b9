"""ArcGisRemote over real HTTP against a loopback server laid out like an
ArcGIS Server, serving recorded documents.

Recorded: the ArcGIS Server 10.81 MapServer root and group layer (MapStore2),
Koop 10.4.19's FeatureServer root, layer and its error-as-200 for MapServer,
and ArcGIS Server 10.22/10.3 Feature Layers (pyesridump).
SYNTHETIC (written here, marked so): the services directory and folder
documents, one empty FeatureServer root and one ImageServer root. No recorded
server offers those (ArcGIS Server is proprietary; Koop has no /rest/services
catalogue, no MapServer and no ImageServer, see PEERS.md).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harvesting.demo.server import LoopbackServer, Request, Response
from harvesting.remotes.arcgis import ArcGisRemote
from harvesting.remotes.base import ListingPage, RemoteError, RemoteOptions
from harvesting.remotes.http import HttpClient

DATA = Path(__file__).resolve().parents[1] / "data" / "arcgis"
KOOP = "captured-koop-10.4.19"


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


def synthetic(value: Any) -> bytes:
    return json.dumps(value).encode()


# --- SYNTHETIC documents -----------------------------------------------------------------

SYNTHETIC_ROOT = {
    "currentVersion": 10.81,
    "folders": ["Projects", "Empty", "Lakes", "Utilities"],
    "services": [{"name": "Elevation", "type": "ImageServer"}, {"name": "Geometry", "type": "GeometryServer"}],
}
SYNTHETIC_FOLDERS = {
    "Projects": {
        "currentVersion": 10.81,
        "folders": [],
        "services": [{"name": "Projects/Status", "type": "MapServer"}],
    },
    "Empty": {"currentVersion": 10.81, "folders": [], "services": [{"name": "Empty/Nothing", "type": "FeatureServer"}]},
    "Lakes": {"currentVersion": 10.81, "folders": [], "services": [{"name": "Lakes/lakes", "type": "FeatureServer"}]},
    "Utilities": {
        "currentVersion": 10.81,
        "folders": [],
        "services": [{"name": "Utilities/PrintingTools", "type": "GPServer"}],
    },
}
SYNTHETIC_EMPTY_FEATURESERVER = {"currentVersion": 10.81, "serviceDescription": "", "layers": [], "tables": []}
SYNTHETIC_IMAGESERVER = {
    "currentVersion": 10.81,
    "name": "Elevation",
    "serviceDescription": "Synthetic elevation model",
    "description": "",
    "copyrightText": "",
    "extent": {
        "xmin": -1113194.9079327357,
        "ymin": 0,
        "xmax": 1113194.9079327357,
        "ymax": 1118889.9748579594,
        "spatialReference": {"wkid": 102100, "latestWkid": 3857},
    },
    "pixelType": "F32",
    "bandCount": 1,
    "editingInfo": {"lastEditDate": 1700000000000},
}

# The order the walk must find them in: root services, then folders in order.
SERVICE_PAGES = [
    "Elevation/ImageServer",
    "Projects/Status/MapServer",
    "Empty/Nothing/FeatureServer",
    "Lakes/lakes/FeatureServer",
]


def server_documents() -> dict[str, bytes]:
    """Path below /arcgis -> body, for a server holding every document above."""
    services = "/rest/services"
    documents = {
        services: synthetic(SYNTHETIC_ROOT),
        f"{services}/Elevation/ImageServer": synthetic(SYNTHETIC_IMAGESERVER),
        f"{services}/Projects/Status/MapServer": recorded("mapstore2/arcgis-test-data.json"),
        f"{services}/Projects/Status/MapServer/1": recorded("mapstore2/arcgis-layer-test-data.json"),
        f"{services}/Empty/Nothing/FeatureServer": synthetic(SYNTHETIC_EMPTY_FEATURESERVER),
        f"{services}/Lakes/lakes/FeatureServer": recorded(f"{KOOP}/lakes_FeatureServer.json"),
        f"{services}/Lakes/lakes/FeatureServer/0": recorded(f"{KOOP}/lakes_FeatureServer_0.json"),
        # Koop's real answer to a MapServer request.
        f"{services}/Lakes/lakes/MapServer": recorded(f"{KOOP}/lakes_MapServer_invalid_url_error.json"),
        f"{services}/County/Addresses/MapServer/0": recorded("pyesridump/us-fl-polk-metadata.json"),
        f"{services}/County/Facilities/FeatureServer/0": recorded("pyesridump/us-esri-test-metadata.json"),
        f"{services}/County/POI/MapServer/11": recorded("pyesridump/us-il-cook-metadata.json"),
        "/rest/info": recorded(f"{KOOP}/rest_info.json"),
    }
    for folder, body in SYNTHETIC_FOLDERS.items():
        documents[f"{services}/{folder}"] = synthetic(body)
    return documents


class ArcGisSite:
    """Answers `?f=json` from `documents` the way ArcGIS Server does (JSON with
    HTTP 200, its HTML directory pages otherwise); `statuses` and `bodies`
    override single paths to break them on purpose."""

    def __init__(self, documents: dict[str, bytes]) -> None:
        self.documents = documents
        self.statuses: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        query = dict(request.query)
        with self._lock:
            self.requests.append((path, query))
            status = self.statuses.get(path)
        if status is not None:
            return Response(status, b"<html><body>Error: Internal Server Error</body></html>", "text/html")
        if query.get("f") != "json":
            return Response(200, b"<html><body>ArcGIS REST Services Directory</body></html>", "text/html")
        body = self.documents.get(path)
        if body is None:
            return Response(404, b"Not Found\n", "text/plain")
        return Response(200, body, "application/json; charset=utf-8")

    def paths(self) -> list[str]:
        with self._lock:
            return [path for path, _ in self.requests]


@pytest.fixture
def site() -> ArcGisSite:
    return ArcGisSite(server_documents())


@pytest.fixture
def server(site: ArcGisSite) -> Iterator[LoopbackServer]:
    with LoopbackServer() as loopback:
        loopback.mount("/arcgis", site, subtree=True)
        yield loopback


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = HttpClient(timeout_s=5)
    yield client
    client.close()


def make(url: str, http: HttpClient, **options: str) -> ArcGisRemote:
    return ArcGisRemote(url, RemoteOptions(dict(options)), http)


def walk(remote: ArcGisRemote) -> list[ListingPage]:
    pages = [remote.list_resources(None)]
    while pages[-1].next_cursor is not None:
        pages.append(remote.list_resources(pages[-1].next_cursor))
        assert len(pages) < 20
    return pages


def services_url(server: LoopbackServer) -> str:
    return f"{server.url}/arcgis/rest/services"


# --- services directory ---------------------------------------------------------------------


def test_directory_walk_one_page_per_service(server: LoopbackServer, site: ArcGisSite, http: HttpClient) -> None:
    remote = make(services_url(server), http)
    assert remote.check_availability()
    site.requests.clear()
    pages = walk(remote)
    # The empty FeatureServer is no page of its own: an empty page would read as a broken listing.
    # Cursors name the next service, so a service deleted mid-listing cannot shift the rest.
    assert [p.next_cursor for p in pages] == ["Projects/Status/MapServer", "Empty/Nothing/FeatureServer", None]
    assert [len(p.resources) for p in pages] == [1, 24, 1]
    assert [p.raw_count for p in pages] == [1, 24, 1]
    assert all(p.total is None and p.position is None and p.next_position is None for p in pages)
    image = pages[0].resources[0]
    assert (image.remote_id, image.title, image.resource_type) == ("Elevation/ImageServer", "Elevation", "raster")
    assert image.modified is None  # lastEditDate dates the data, never the layer metadata
    ids = [r.remote_id for p in pages for r in p.resources]
    assert ids[1:4] == ["Projects/Status/MapServer/1", "Projects/Status/MapServer/11", "Projects/Status/MapServer/12"]
    assert ids[-1] == "Lakes/lakes/FeatureServer/0"
    assert len(set(ids)) == len(ids) == 26
    # GeometryServer and GPServer services are walked past, never requested.
    assert not [p for p in site.paths() if "Geometry" in p or "PrintingTools" in p]
    # The directory is walked once per listing, not once per page.
    assert site.paths().count("/rest/services") == 1


def test_every_request_asks_for_json_and_keeps_the_token(
    server: LoopbackServer, site: ArcGisSite, http: HttpClient
) -> None:
    remote = make(services_url(server) + "?token=s3cret&f=pjson", http)
    walk(remote)
    fetched = remote.fetch("Projects/Status/MapServer/1")
    assert site.requests
    assert all(query == {"token": "s3cret", "f": "json"} for _, query in site.requests)
    assert "s3cret" not in json.dumps(fetched.descriptor)


def test_fetch_layers_from_the_directory(server: LoopbackServer, http: HttpClient) -> None:
    remote = make(services_url(server), http)
    group = remote.fetch("Projects/Status/MapServer/1")
    assert group.descriptor["title"] == "Active Projects"
    assert group.descriptor["links"][0]["url"] == services_url(server) + "/Projects/Status/MapServer/1"
    assert group.descriptor["bbox"] == pytest.approx([-178.333245, -14.601806, 146.154413, 68.301026], abs=1e-6)
    assert group.raw == recorded("mapstore2/arcgis-layer-test-data.json")
    again = remote.reparse(group.raw, "Projects/Status/MapServer/1")
    assert again.descriptor == group.descriptor
    assert again.content_hash == group.content_hash

    lakes = remote.fetch("Lakes/lakes/FeatureServer/0")
    assert lakes.descriptor["title"] == "lakes.geojson"
    assert lakes.descriptor["extra"]["service_name"] == "Lakes/lakes"

    image = remote.fetch("Elevation/ImageServer")
    assert image.modified == "2023-11-14T22:13:20Z"
    assert image.descriptor["bbox"] == pytest.approx([-10.0, 0.0, 10.0, 10.0], abs=1e-8)


def test_fetch_of_a_vanished_layer_is_not_found(server: LoopbackServer, http: HttpClient) -> None:
    with pytest.raises(RemoteError) as e:
        make(services_url(server), http).fetch("Projects/Status/MapServer/11")
    assert e.value.kind == "not-found"


def test_fetch_refuses_foreign_ids_without_a_request(
    server: LoopbackServer, site: ArcGisSite, http: HttpClient
) -> None:
    with pytest.raises(RemoteError) as e:
        make(services_url(server), http).fetch("../../admin/MapServer/1")
    assert e.value.kind == "not-found"
    assert site.requests == []


def test_a_resumed_listing_rediscovers_the_services(server: LoopbackServer, site: ArcGisSite, http: HttpClient) -> None:
    # A new process (a fresh remote) continues at the cursor the previous one stored.
    page = make(services_url(server), http).list_resources("Lakes/lakes/FeatureServer")
    assert [r.remote_id for r in page.resources] == ["Lakes/lakes/FeatureServer/0"]
    assert page.next_cursor is None
    assert "/rest/services" in site.paths()


def test_a_new_listing_walks_the_directory_again(server: LoopbackServer, site: ArcGisSite, http: HttpClient) -> None:
    remote = make(services_url(server), http)
    walk(remote)
    walk(remote)
    assert site.paths().count("/rest/services") == 2


def test_cursor_naming_a_service_that_is_gone(server: LoopbackServer, http: HttpClient) -> None:
    with pytest.raises(RemoteError, match="directory changed") as e:
        make(services_url(server), http).list_resources("Gone/Service/MapServer")
    assert e.value.kind == "not-found"


def test_folder_url_walks_that_folder_only(server: LoopbackServer, site: ArcGisSite, http: HttpClient) -> None:
    pages = walk(make(services_url(server) + "/Lakes", http))
    assert [[r.remote_id for r in p.resources] for p in pages] == [["Lakes/lakes/FeatureServer/0"]]
    assert "/rest/services" not in site.paths()


def test_options_filter_services_and_layers(server: LoopbackServer, http: HttpClient) -> None:
    pages = walk(make(services_url(server), http, services="projects/status,Lakes/lakes/FeatureServer"))
    assert [len(p.resources) for p in pages] == [24, 1]

    pages = walk(make(services_url(server), http, service_types="MapServer", layer_filter="outreach"))
    assert len(pages) == 1
    assert [r.remote_id for r in pages[0].resources] == [
        "Projects/Status/MapServer/12",
        "Projects/Status/MapServer/22",
        "Projects/Status/MapServer/32",
        "Projects/Status/MapServer/42",
    ]
    assert pages[0].raw_count == 24

    pages = walk(make(services_url(server), http, service_types="ImageServer"))
    assert [[r.remote_id for r in p.resources] for p in pages] == [["Elevation/ImageServer"]]


def test_empty_directory(server: LoopbackServer, site: ArcGisSite, http: HttpClient) -> None:
    site.documents["/rest/services"] = synthetic({"currentVersion": 10.81, "folders": [], "services": []})
    page = make(services_url(server), http).list_resources(None)
    assert (page.resources, page.next_cursor, page.total) == ([], None, 0)


# --- single service and single layer --------------------------------------------------------


def test_single_mapserver(server: LoopbackServer, http: HttpClient) -> None:
    url = services_url(server) + "/Projects/Status/MapServer"
    remote = make(url, http)
    assert remote.check_availability()
    page = remote.list_resources(None)
    assert (page.next_cursor, page.total, len(page.resources)) == (None, 24, 24)
    assert page.resources[0].remote_id == "MapServer/1"
    fetched = remote.fetch("MapServer/1")
    assert fetched.descriptor["identifier"] == "MapServer/1"
    assert fetched.descriptor["links"][0]["url"] == url + "/1"
    assert fetched.descriptor["links"][1]["url"].startswith(url + "/export?")


def test_single_koop_featureserver(server: LoopbackServer, http: HttpClient) -> None:
    remote = make(services_url(server) + "/Lakes/lakes/FeatureServer/", http)
    page = remote.list_resources(None)
    assert [(r.remote_id, r.title) for r in page.resources] == [("FeatureServer/0", "lakes.geojson")]
    assert page.total == 1
    assert remote.fetch("FeatureServer/0").descriptor["extra"]["max_record_count"] == 2000


def test_single_imageserver(server: LoopbackServer, http: HttpClient) -> None:
    remote = make(services_url(server) + "/Elevation/ImageServer", http)
    page = remote.list_resources(None)
    assert [r.remote_id for r in page.resources] == ["ImageServer"]
    assert remote.fetch("ImageServer").descriptor["resource_type"] == "raster"


@pytest.mark.parametrize(
    ("path", "remote_id", "title", "bbox"),
    [
        (
            "/County/Addresses/MapServer/0",
            "MapServer/0",
            "Addresses (visible at 1:2500)",
            [-82.10125958482321, 27.64294786029242, -81.12773092284728, 28.359597901613128],
        ),
        (
            "/County/Facilities/FeatureServer/0",
            "FeatureServer/0",
            "Facilities",
            [-180.0, -90.0, 178.033951095, 88.957793022],
        ),
        ("/County/POI/MapServer/11", "MapServer/11", "Point of Interest", None),
    ],
)
def test_single_layer_urls(
    server: LoopbackServer, http: HttpClient, path: str, remote_id: str, title: str, bbox: list[float] | None
) -> None:
    remote = make(services_url(server) + path, http)
    assert remote.check_availability()
    page = remote.list_resources(None)
    assert [(r.remote_id, r.title) for r in page.resources] == [(remote_id, title)]
    assert page.total == 1
    fetched = remote.fetch(remote_id)
    assert fetched.descriptor["bbox"] == bbox
    assert fetched.descriptor["links"][0]["url"] == services_url(server) + path


def test_layer_filter_on_a_single_layer(server: LoopbackServer, http: HttpClient) -> None:
    page = make(services_url(server) + "/County/POI/MapServer/11", http, layer_filter="parcel").list_resources(None)
    assert (page.resources, page.total, page.raw_count) == ([], 0, 1)


# --- failures -------------------------------------------------------------------------------


def test_koop_mapserver_error_served_with_200(server: LoopbackServer, http: HttpClient) -> None:
    remote = make(services_url(server) + "/Lakes/lakes/MapServer", http)
    for call in (remote.check_availability, lambda: remote.list_resources(None)):
        with pytest.raises(RemoteError) as e:
            call()
        assert e.value.kind == "exception-report"
        assert "ArcGIS error 400: Invalid URL" in e.value.message


def test_error_as_200_in_the_middle_of_a_walk(server: LoopbackServer, site: ArcGisSite, http: HttpClient) -> None:
    site.documents["/rest/services/Projects/Status/MapServer"] = recorded(
        f"{KOOP}/lakes_MapServer_invalid_url_error.json"
    )
    remote = make(services_url(server), http)
    assert remote.list_resources(None).next_cursor == "Projects/Status/MapServer"
    with pytest.raises(RemoteError) as e:
        remote.list_resources("Projects/Status/MapServer")
    assert e.value.kind == "exception-report"
    assert "/Projects/Status/MapServer" in e.value.message


def test_error_as_200_on_fetch(server: LoopbackServer, site: ArcGisSite, http: HttpClient) -> None:
    site.documents["/rest/services/Lakes/lakes/FeatureServer/0"] = recorded(
        f"{KOOP}/lakes_MapServer_invalid_url_error.json"
    )
    with pytest.raises(RemoteError) as e:
        make(services_url(server), http).fetch("Lakes/lakes/FeatureServer/0")
    assert e.value.kind == "exception-report"


def test_http_500(server: LoopbackServer, site: ArcGisSite, http: HttpClient) -> None:
    remote = make(services_url(server), http)
    site.statuses["/rest/services/Lakes"] = 500
    assert remote.check_availability()  # the root still answers
    with pytest.raises(RemoteError) as e:
        remote.list_resources(None)  # the walk needs every folder
    assert e.value.kind == "http-error"
    assert "500" in e.value.message

    site.statuses.clear()
    site.statuses["/rest/services/Lakes/lakes/FeatureServer/0"] = 500
    with pytest.raises(RemoteError) as e:
        remote.fetch("Lakes/lakes/FeatureServer/0")
    assert e.value.kind == "http-error"

    site.statuses["/rest/services"] = 500
    with pytest.raises(RemoteError) as e:
        remote.check_availability()
    assert e.value.kind == "http-error"


def test_malformed_bodies(server: LoopbackServer, site: ArcGisSite, http: HttpClient) -> None:
    remote = make(services_url(server), http)
    site.documents["/rest/services/Lakes/lakes/FeatureServer/0"] = recorded(f"{KOOP}/lakes_FeatureServer_0.json")[:700]
    with pytest.raises(RemoteError) as e:
        remote.fetch("Lakes/lakes/FeatureServer/0")
    assert e.value.kind == "parse-error"

    site.documents["/rest/services"] = synthetic(SYNTHETIC_ROOT)[:40]
    with pytest.raises(RemoteError) as e:
        remote.list_resources(None)
    assert e.value.kind == "parse-error"
    with pytest.raises(RemoteError) as e:
        remote.check_availability()
    assert e.value.kind == "parse-error" and "malformed JSON" in e.value.message


def test_not_a_directory(server: LoopbackServer, http: HttpClient) -> None:
    # Koop's /rest/info, configured as if it were a services directory.
    remote = make(f"{server.url}/arcgis/rest/info", http)
    for call in (remote.check_availability, lambda: remote.list_resources(None)):
        with pytest.raises(RemoteError, match="not an ArcGIS services directory") as e:
            call()
        assert e.value.kind == "parse-error"


def test_refused_connection(http: HttpClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    remote = make(f"http://127.0.0.1:{port}/arcgis/rest/services", http)
    with pytest.raises(RemoteError) as e:
        remote.check_availability()
    assert e.value.kind == "unreachable"
    with pytest.raises(RemoteError) as e:
        remote.list_resources(None)
    assert e.value.kind == "unreachable"
    with pytest.raises(RemoteError) as e:
        remote.fetch("Lakes/lakes/FeatureServer/0")
    assert e.value.kind == "unreachable"
