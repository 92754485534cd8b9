"""Remotes the bench harvests, scaled from recorded documents (nothing generated
is committed): the same shapes real servers send, at any size."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from harvesting.demo.server import GeoNodeSite, Request, Response

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
WMS_1000 = DATA / "wms/captured-mapserver-8.0.0/mapserver8_1000layers_GetCapabilities_130.xml"
GEONODE_PAGE = DATA / "geonode/captured-geonode-4.4.5/resources_page1_size5.json"
CSW_CAPABILITIES = DATA / "csw/captured-pycsw-2.6.2/GetCapabilities_202.xml"
CSW_ISO_RECORD = DATA / "csw/captured-pycsw-2.6.2/GetRecordById_apiso_gmd.xml"

WMS_NS = "http://www.opengis.net/wms"
CSW_NS = "http://www.opengis.net/cat/csw/2.0.2"
XML = "application/xml; charset=UTF-8"


# --- WMS ----------------------------------------------------------------------------------------


def wms_capabilities(layers: int) -> bytes:
    """The recorded MapServer 8 capabilities (10 groups of 100 layers under one
    root layer), its groups copied under new names until about `layers` named
    layers are listed (the root layer counts as one)."""
    tree = etree.fromstring(WMS_1000.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))
    root_layer: Any = tree.find(f"{{{WMS_NS}}}Capability/{{{WMS_NS}}}Layer")
    groups = root_layer.findall(f"{{{WMS_NS}}}Layer")
    for group in groups:
        root_layer.remove(group)
    wanted = max(1, layers - 1)
    made = copies = 0
    while made < wanted:
        for group in groups:
            if made >= wanted:
                break
            clone = copy.deepcopy(group)
            for name in clone.iter(f"{{{WMS_NS}}}Name"):
                name.text = f"c{copies}_{name.text}"
            children = clone.findall(f"{{{WMS_NS}}}Layer")
            keep = min(len(children), wanted - made - 1)
            for extra in children[keep:]:
                clone.remove(extra)
            root_layer.append(clone)
            made += 1 + keep
        copies += 1
    body: bytes = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    return body


# --- GeoNode ------------------------------------------------------------------------------------


class SlowGeoNode:
    """A GeoNode whose detail requests take a realistic round trip."""

    def __init__(self, site: GeoNodeSite, latency_s: float) -> None:
        self.site = site
        self.latency_s = latency_s

    def handle(self, request: Request) -> Response:
        response = self.site.handle(request)
        if "/resources" in request.path and not request.path.rstrip("/").split("/")[-1].isdigit():
            return response
        return dataclasses.replace(response, delay_s=self.latency_s)


def geonode_entries(count: int) -> list[dict[str, Any]]:
    template = json.loads(GEONODE_PAGE.read_bytes())["resources"][0]
    entries = []
    for i in range(count):
        entry = copy.deepcopy(template)
        entry.update(
            pk=str(10_000 + i), uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{i}")), title=f"bench dataset {i}"
        )
        entries.append(entry)
    return entries


# --- CSW ----------------------------------------------------------------------------------------


class CswSite:
    """A CSW 2.0.2 of `count` ISO records (the recorded pycsw record under new
    identifiers): GetCapabilities, GetRecords paged by startPosition and
    maxRecords (capped at `max_records`, as pycsw does), GetRecordById."""

    def __init__(self, count: int, max_records: int = 100) -> None:
        self.count = count
        self.max_records = max_records
        self.capabilities = CSW_CAPABILITIES.read_bytes()
        document = CSW_ISO_RECORD.read_bytes()
        start = document.index(b"<gmd:MD_Metadata")
        end = document.rindex(b"</gmd:MD_Metadata>") + len(b"</gmd:MD_Metadata>")
        self._open = document[:start].split(b"?>", 1)[1].replace(b"GetRecordByIdResponse", b"GetRecordsResponse")
        self._close = document[end:].replace(b"GetRecordByIdResponse", b"GetRecordsResponse")
        self._by_id_open, self._by_id_close = document[:start], document[end:]
        # The record's namespace declarations live on the envelope; each copy is
        # the same text with a new identifier.
        self._record = document[start:end]

    def identifier(self, index: int) -> str:
        return f"bench-{index:07d}"

    def record(self, index: int) -> bytes:
        return self._record.replace(b">3e9a8c05<", b">" + self.identifier(index).encode() + b"<", 1)

    def handle(self, request: Request) -> Response:
        params = {k.lower(): v for k, v in request.query}
        kind = params.get("request", "").lower()
        if kind == "getcapabilities":
            return Response(200, self.capabilities, XML)
        if kind == "getrecords":
            return Response(200, self.get_records(params), XML)
        if kind == "getrecordbyid":
            wanted = params.get("id", "")
            index = int(wanted.rsplit("-", 1)[-1]) if wanted.startswith("bench-") else -1
            body = self.record(index) if 0 <= index < self.count else b""
            return Response(200, self._by_id_open + body + self._by_id_close, XML)
        return Response(400, b"unknown request", "text/plain")

    def get_records(self, params: dict[str, str]) -> bytes:
        start = max(1, int(params.get("startposition", "1")))
        size = min(int(params.get("maxrecords", "10")), self.max_records)
        shown = range(start - 1, min(self.count, start - 1 + size))
        after = start + len(shown)
        results = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<csw:SearchStatus timestamp="2026-12-05T00:00:00Z"/>'
            f'<csw:SearchResults numberOfRecordsMatched="{self.count}" numberOfRecordsReturned="{len(shown)}"'
            f' nextRecord="{after if after <= self.count else 0}" recordSchema="http://www.isotc211.org/2005/gmd"'
            f' elementSet="{params.get("elementsetname", "full")}">'
        ).encode()
        head, _, _ = results.partition(b"\n")
        body = b"".join(self.record(i) for i in shown)
        return head + b"\n" + self._open + results.split(b"\n", 1)[1] + body + b"</csw:SearchResults>" + self._close
