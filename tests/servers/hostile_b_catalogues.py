"""Realistic catalogues on a `HostileServer`, built from the recorded documents
under tests/data (GeoNode 4.4.5 API v2, rustac 0.9.18 STAC API, the stac-spec
examples as a static catalogue, pycsw 3.0.0b2 OGC API - Records), with the
recorded origin rewritten to the server's own URL.

Each builder mounts exact-path routes (HostileServer matches prefixes, so one
dispatcher serves them all) and returns the catalogue, whose `routes` a test
may override path by path to make one answer hostile.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.servers.hostile import Exchange, HostileServer

DATA = Path(__file__).resolve().parents[1] / "data"
GEONODE = DATA / "geonode" / "captured-geonode-4.4.5"
RUSTAC = DATA / "ogcapi" / "stac" / "captured-rustac-0.9.18"
SPEC = DATA / "ogcapi" / "stac" / "stac-spec"
PYCSW = DATA / "ogcapi" / "records" / "captured-pycsw-3.0.0b2"
RUSTAC_ORIGIN = "http://127.0.0.1:7822"
PYCSW_ORIGIN = "http://127.0.0.1:8010"
GEONODE_ORIGIN = "http://127.0.0.1:8084"
GEOJSON = "application/geo+json"

Route = Callable[[Exchange], None]


def recorded(path: Path, origin: str, base: str) -> Any:
    """A recorded JSON document, its recorded origin replaced by `base`."""
    return json.loads(path.read_text(encoding="utf-8").replace(origin, base))


def geojson(document: Any) -> Route:
    return lambda ex: ex.send(200, json.dumps(document).encode(), GEOJSON)


def json_answer(document: Any) -> Route:
    return lambda ex: ex.json(document)


class Catalogue:
    """Exact-path routes on one server; unknown paths answer 404 JSON."""

    def __init__(self, server: HostileServer) -> None:
        self.server = server
        self.routes: dict[str, Route] = {}
        server.route("/", self._dispatch)

    @property
    def base(self) -> str:
        return self.server.url

    def serve(self, path: str, answer: Route) -> None:
        self.routes[path] = answer

    def _dispatch(self, ex: Exchange) -> None:
        route = self.routes.get(ex.path)
        if route is None:
            ex.json({"code": "NotFound", "description": "not found"}, 404)
        else:
            route(ex)


# --------------------------------------------------------------------------
# GeoNode API v2
# --------------------------------------------------------------------------

GEONODE_TEMPLATE = json.loads((GEONODE / "resources_page1_size5.json").read_text())["resources"][0]


def geonode_entry(i: int, site: str = "hostile") -> dict[str, Any]:
    entry: dict[str, Any] = copy.deepcopy(GEONODE_TEMPLATE)
    entry.update(
        pk=str(2000 + i),
        uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/{i}")),
        title=f"dataset {i:03d}",
        last_updated=f"2026-01-01T00:00:{i % 60:02d}Z",
    )
    return entry


class GeoNode(Catalogue):
    """`count` datasets in pages of `page_size`, details at /api/v2/datasets/{pk}."""

    def __init__(self, server: HostileServer, count: int = 3, page_size: int = 10, site: str = "hostile") -> None:
        super().__init__(server)
        self.entries = [geonode_entry(i, site) for i in range(count)]
        self.page_size = page_size
        self.serve("/api/v2/", json_answer(recorded(GEONODE / "api_v2_root.json", GEONODE_ORIGIN, self.base)))
        self.serve("/api/v2/resources", self.listing)
        for e in self.entries:
            self.serve(f"/api/v2/datasets/{e['pk']}", json_answer({"dataset": e}))

    def detail_path(self, i: int) -> str:
        return f"/api/v2/datasets/{self.entries[i]['pk']}"

    def listing(self, ex: Exchange) -> None:
        page = int(ex.query.get("page", "1"))
        size = int(ex.query.get("page_size", str(self.page_size)))
        chunk = self.entries[(page - 1) * size : page * size]
        more = page * size < len(self.entries)
        next_url = f"{self.base}/api/v2/resources?page={page + 1}&page_size={size}" if more else None
        ex.json(
            {
                "links": {"next": next_url, "previous": None},
                "total": len(self.entries),
                "page": page,
                "page_size": size,
                "resources": chunk,
            }
        )


# --------------------------------------------------------------------------
# STAC API (rustac) and static STAC
# --------------------------------------------------------------------------


def without_next(document: dict[str, Any]) -> dict[str, Any]:
    document["links"] = [link for link in document["links"] if link.get("rel") != "next"]
    return document


def set_next(document: dict[str, Any], href: str, **extra: Any) -> dict[str, Any]:
    without_next(document)
    document["links"].append({"href": href, "rel": "next", "type": GEOJSON, **extra})
    return document


class StacApi(Catalogue):
    """rustac's API with its `synthetic` collection only: page 1 (items 0 and
    1, recorded, next link to skip=2) and page 2 (items 7 and 89, the recorded
    POST search page without its next link); every item at its own URL."""

    ITEMS = "/collections/synthetic/items"
    IDS = ("item-00000", "item-00001", "item-00007", "item-00089")

    def __init__(self, server: HostileServer) -> None:
        super().__init__(server)
        base = self.base
        self.landing = recorded(RUSTAC / "landing.json", RUSTAC_ORIGIN, base)
        collections = recorded(RUSTAC / "collections.json", RUSTAC_ORIGIN, base)
        collections["collections"] = [c for c in collections["collections"] if c["id"] == "synthetic"]
        self.collections = collections
        self.page1 = recorded(RUSTAC / "synthetic_items_limit2.json", RUSTAC_ORIGIN, base)
        self.page2 = without_next(recorded(RUSTAC / "POST_search_limit2_bbox.json", RUSTAC_ORIGIN, base))
        self.items = {f["id"]: f for f in [*self.page1["features"], *self.page2["features"]]}
        self.serve("/", json_answer(self.landing))
        self.serve("/collections", json_answer(self.collections))
        self.serve("/collections/synthetic", json_answer(collections["collections"][0]))
        self.serve(self.ITEMS, lambda ex: geojson(self.page2 if "skip" in ex.query else self.page1)(ex))
        for item_id, item in self.items.items():
            self.serve(self.item_path(item_id), geojson(item))

    def item_path(self, item_id: str) -> str:
        return f"{self.ITEMS}/{item_id}"


class StaticStac(Catalogue):
    """The stac-spec `catalog.json` under /static with one item beside it
    (`collectionless-item.json`), and whatever links a test adds."""

    ITEM_ID = "CS3-20160503_132131_08"

    def __init__(self, server: HostileServer, extra_links: list[dict[str, Any]] | None = None) -> None:
        super().__init__(server)
        catalog = json.loads((SPEC / "catalog.json").read_text())
        catalog["links"] = [
            {"rel": "self", "href": f"{self.base}/static/catalog.json", "type": "application/json"},
            {"rel": "root", "href": "./catalog.json", "type": "application/json"},
            {"rel": "item", "href": "./collectionless-item.json", "type": "application/json"},
            *(extra_links or []),
        ]
        self.catalog = catalog
        self.item = json.loads((SPEC / "collectionless-item.json").read_text())
        self.serve("/static/catalog.json", json_answer(catalog))
        self.serve("/static/collectionless-item.json", json_answer(self.item))


# --------------------------------------------------------------------------
# OGC API - Records (pycsw 3)
# --------------------------------------------------------------------------


class Records(Catalogue):
    """pycsw 3's Records API: the `metadata:main` collection in two recorded
    pages of five (the second without its next link), each record at its own URL."""

    ITEMS = "/collections/metadata:main/items"

    def __init__(self, server: HostileServer) -> None:
        super().__init__(server)
        base = self.base
        self.page1 = recorded(PYCSW / "items_page1_limit5.json", PYCSW_ORIGIN, base)
        self.page2 = without_next(recorded(PYCSW / "items_page2_limit5.json", PYCSW_ORIGIN, base))
        for page in (self.page1, self.page2):
            page["numberMatched"] = 10  # of the 29 recorded, these two pages are all there is
        self.records = {f["id"]: f for f in [*self.page1["features"], *self.page2["features"]]}
        self.serve("/", json_answer(recorded(PYCSW / "landing.json", PYCSW_ORIGIN, base)))
        self.serve("/conformance", json_answer(recorded(PYCSW / "conformance.json", PYCSW_ORIGIN, base)))
        self.serve("/collections", json_answer(recorded(PYCSW / "collections.json", PYCSW_ORIGIN, base)))
        self.serve(
            "/collections/metadata:main",
            json_answer(recorded(PYCSW / "collection_metadata_main.json", PYCSW_ORIGIN, base)),
        )
        self.serve(self.ITEMS, lambda ex: geojson(self.page2 if "offset" in ex.query else self.page1)(ex))
        for record_id, record in self.records.items():
            self.serve(self.record_path(record_id), geojson(record))

    def record_path(self, record_id: str) -> str:
        return f"{self.ITEMS}/{record_id}"
