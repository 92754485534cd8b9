"""CswRemote over real HTTP against a loopback CSW replaying recorded pycsw documents.

The server answers GetCapabilities with pycsw 2.6.2's recorded document and
builds GetRecords pages (GET and POST) from records taken out of recorded
pages, inside the envelope pycsw recorded, paging by startPosition / maxRecords
and capping pages at `maxrecords` as pycsw does. Recorded pages and
GetRecordById answers can also be served verbatim. It speaks HTTP/1.0 and
closes each connection, like pycsw under wsgiref, which is what makes the
gzip quirk (Content-Length of the uncompressed body) visible.
"""

from __future__ import annotations

import copy
import gzip
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from harvesting.remotes.base import ListingPage, RemoteError, RemoteOptions
from harvesting.remotes.csw import CSW_NS, GMD_NS, CswRemote, iso_descriptor, parse_record_by_id, record_identifier
from harvesting.remotes.http import HttpClient

DATA = Path(__file__).resolve().parents[1] / "data" / "csw"
XML = "application/xml; charset=UTF-8"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)

DC_PAGES = (
    "captured-pycsw-2.6.2/GetRecords_cite_dc_full_page1.xml",
    "captured-pycsw-2.6.2/GetRecords_cite_dc_full_page3_last.xml",
)
ISO_PAGES = (
    "captured-pycsw-2.6.2/GetRecords_apiso_gmd_full_page1.xml",
    "geodatagov/sample3_getrecords2.xml",
    "geodatagov/sample4_getrecords2.xml",
)
BY_ID_DOCUMENTS = {
    "3e9a8c05": "captured-pycsw-2.6.2/GetRecordById_apiso_gmd.xml",
    "OT.102019.6339.1": "geodatagov/sample4_id_OT.102019.6339.1.xml",
}


def read(relative: str) -> bytes:
    return (DATA / relative).read_bytes()


def records_of(pages: tuple[str, ...]) -> list[Any]:
    records: list[Any] = []
    for relative in pages:
        results: Any = etree.fromstring(read(relative), PARSER).find(f"{{{CSW_NS}}}SearchResults")
        records += [copy.deepcopy(r) for r in results if isinstance(r.tag, str)]
    return records


@dataclass
class Seen:
    method: str
    params: dict[str, str]  # lower-cased KVP names, or the POST body's request settings
    accept_encoding: str
    body: bytes = b""


@dataclass
class CswSite:
    """What the loopback CSW answers; tests change the fields to misbehave."""

    capabilities: bytes = field(default_factory=lambda: read("captured-pycsw-2.6.2/GetCapabilities_202.xml"))
    maxrecords: int = 10
    fault: str | None = None  # http-500, exception-200, exception-400, malformed
    gzip_wrong_length: bool = False
    verbatim_pages: dict[int, bytes] = field(default_factory=dict)
    records: dict[str, list[Any]] = field(
        default_factory=lambda: {CSW_NS: records_of(DC_PAGES), GMD_NS: records_of(ISO_PAGES)}
    )
    seen: list[Seen] = field(default_factory=list)

    def answer(self, method: str, params: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if self.fault == "http-500":
            return 500, b"<h1>Internal Server Error</h1>"
        if self.fault == "exception-200":
            return 200, read("captured-pycsw-2.6.2/Exception_invalid_parameter.xml")
        if self.fault == "exception-400":
            return 400, read("captured-pycsw-2.6.2/Exception_MissingParameterValue.xml")
        request = params.get("request", "").lower()
        if request == "getcapabilities":
            status, document = 200, self.capabilities
        elif request == "getrecords":
            status, document = 200, self.get_records(params)
        elif request == "getrecordbyid":
            status, document = 200, self.get_record_by_id(params)
        else:
            return 200, read("captured-pycsw-2.6.2/Exception_MissingParameterValue.xml")
        if self.fault == "malformed":
            document = document[: len(document) // 2]
        return status, document

    def get_records(self, params: dict[str, str]) -> bytes:
        start = int(params.get("startposition", "1"))
        if start in self.verbatim_pages:
            return self.verbatim_pages[start]
        schema = params.get("outputschema", CSW_NS)
        pool = self.records[schema]
        size = min(int(params.get("maxrecords", "10")), self.maxrecords)
        shown = pool[start - 1 : start - 1 + size]
        after = start + len(shown)
        envelope = etree.fromstring(read(DC_PAGES[0] if schema == CSW_NS else ISO_PAGES[0]), PARSER)
        results: Any = envelope.find(f"{{{CSW_NS}}}SearchResults")
        for old in list(results):
            results.remove(old)
        results.set("numberOfRecordsMatched", str(len(pool)))
        results.set("numberOfRecordsReturned", str(len(shown)))
        results.set("nextRecord", str(after) if after <= len(pool) else "0")
        results.set("elementSet", params.get("elementsetname", "full"))
        for record in shown:
            results.append(copy.deepcopy(record))
        document: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
        return document

    def get_record_by_id(self, params: dict[str, str]) -> bytes:
        wanted = params.get("id", "")
        schema = params.get("outputschema", CSW_NS)
        if schema == GMD_NS and wanted in BY_ID_DOCUMENTS:
            return read(BY_ID_DOCUMENTS[wanted])
        response = etree.Element(f"{{{CSW_NS}}}GetRecordByIdResponse", nsmap={"csw": CSW_NS})
        for record in self.records[schema]:
            if record_identifier(record) == wanted:
                response.append(copy.deepcopy(record))
        document: bytes = etree.tostring(response, xml_declaration=True, encoding="UTF-8")
        return document


def post_params(body: bytes) -> dict[str, str]:
    """The settings of a CSW POST request, keyed like their KVP counterparts."""
    root: Any = etree.fromstring(body, PARSER)
    name = str(etree.QName(root).localname)
    params: dict[str, str] = {"request": name, **{str(k).lower(): str(v) for k, v in root.attrib.items()}}
    query = root.find(f"{{{CSW_NS}}}Query")
    if query is not None:
        params["typenames"] = query.get("typeNames", "")
        params["elementsetname"] = query.findtext(f"{{{CSW_NS}}}ElementSetName") or ""
        cql = query.findtext(f"{{{CSW_NS}}}Constraint/{{{CSW_NS}}}CqlText")
        if cql is not None:
            params["constraint"] = cql
    if name == "GetRecordById":
        params["id"] = root.findtext(f"{{{CSW_NS}}}Id") or ""
        params["elementsetname"] = root.findtext(f"{{{CSW_NS}}}ElementSetName") or ""
    return params


class LoopbackCsw:
    def __init__(self, site: CswSite) -> None:
        self.site = site
        owner = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0 and one request per connection, as wsgiref serves pycsw.
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                params = {k.lower(): v for k, v in parse_qsl(urlsplit(self.path).query, keep_blank_values=True)}
                self.answer("GET", params, b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.answer("POST", post_params(body), body)

            def answer(self, method: str, params: dict[str, str], body: bytes) -> None:
                encoding = self.headers.get("Accept-Encoding", "")
                owner.site.seen.append(Seen(method, params, encoding, body))
                status, document = owner.site.answer(method, params, body)
                self.send_response(status)
                self.send_header("Content-Type", XML)
                if owner.site.gzip_wrong_length and "gzip" in encoding:
                    # pycsw 2.6 under wsgiref: gzipped body, Content-Length of the plain one.
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(document)))
                    document = gzip.compress(document)
                else:
                    self.send_header("Content-Length", str(len(document)))
                self.end_headers()
                self.wfile.write(document)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> LoopbackCsw:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def site() -> CswSite:
    return CswSite()


@pytest.fixture
def server(site: CswSite) -> Iterator[LoopbackCsw]:
    with LoopbackCsw(site) as running:
        yield running


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = HttpClient(timeout_s=5)
    try:
        yield client
    finally:
        client.close()


def make(server: LoopbackCsw, http: HttpClient, path: str = "/csw", **options: str) -> CswRemote:
    return CswRemote(server.base + path, RemoteOptions(options), http)


def walk(remote: CswRemote, limit: int = 50) -> list[ListingPage]:
    pages = [remote.list_resources(None)]
    while pages[-1].next_cursor is not None:
        assert len(pages) < limit, "listing does not end"
        pages.append(remote.list_resources(pages[-1].next_cursor))
    return pages


# --- availability and the default schema ------------------------------------------------------


def test_availability_and_iso_by_default(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    remote = make(server, http)
    assert remote.check_availability() is True
    assert remote.output_schema() == "iso"  # the capabilities list the gmd outputSchema
    assert site.seen[0].params == {"service": "CSW", "version": "2.0.2", "request": "GetCapabilities"}


def test_dublin_core_when_the_capabilities_lack_gmd(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    site.capabilities = site.capabilities.replace(b"<ows:Value>http://www.isotc211.org/2005/gmd</ows:Value>", b"")
    remote = make(server, http)
    page = remote.list_resources(None)
    assert remote.output_schema() == "dc"
    assert [s.params["request"] for s in site.seen] == ["GetCapabilities", "GetRecords"]
    assert site.seen[1].params["typenames"] == "csw:Record"
    assert page.resources[0].remote_id == "urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f"


def test_capabilities_are_asked_once_for_many_fetches(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    remote = make(server, http)
    threads = [threading.Thread(target=remote.fetch, args=("3e9a8c05",)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [s.params["request"] for s in site.seen].count("GetCapabilities") == 1
    assert [s.params["request"] for s in site.seen].count("GetRecordById") == 6


# --- paging -----------------------------------------------------------------------------------


def test_get_listing_walks_every_iso_page(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    remote = make(server, http, path="/csw?map=catalogue", page_size="4")
    pages = walk(remote)
    assert [(p.position, len(p.resources), p.next_position, p.total, p.requested) for p in pages] == [
        (1, 4, 5, 9, 4),
        (5, 4, 9, 9, 4),
        (9, 1, None, 9, 4),
    ]
    ids = [r.remote_id for p in pages for r in p.resources]
    assert ids[0] == "3e9a8c05"
    assert ids[-2:] == ["OT.102019.6339.1", "OT.102019.6341.1"]
    assert pages[0].resources[0].modified == "2011-04-18"
    listing = [s for s in site.seen if s.params.get("request") == "GetRecords"]
    assert [s.params["startposition"] for s in listing] == ["1", "5", "9"]
    first = listing[0].params
    assert first["map"] == "catalogue"  # the configured URL's own parameter is kept
    assert (first["typenames"], first["outputschema"], first["resulttype"], first["elementsetname"]) == (
        "gmd:MD_Metadata",
        GMD_NS,
        "results",
        "summary",
    )
    assert first["maxrecords"] == "4"


def test_post_listing_with_a_cql_constraint(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    remote = make(server, http, method="post", output_schema="dc", page_size="5", constraint="dc:title like '%a%'")
    pages = walk(remote)
    assert [(p.position, len(p.resources), p.next_position) for p in pages] == [(1, 5, 6), (6, 2, None)]
    posts = [s for s in site.seen if s.method == "POST"]
    assert len(posts) == 2
    assert [p.params["startposition"] for p in posts] == ["1", "6"]
    assert posts[0].params["outputschema"] == CSW_NS
    assert posts[0].params["typenames"] == "csw:Record"
    assert posts[0].params["constraint"] == "dc:title like '%a%'"
    # No GetCapabilities: the schema was configured.
    assert all(s.params["request"] == "GetRecords" for s in site.seen)


def test_get_listing_sends_the_cql_constraint(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    make(server, http, output_schema="iso", constraint="AnyText like '%photo%'").list_resources(None)
    params = site.seen[0].params
    assert params["constraintlanguage"] == "CQL_TEXT"
    assert params["constraint_language_version"] == "1.1.0"
    assert params["constraint"] == "AnyText like '%photo%'"


def test_a_server_capping_pages_is_reported_not_judged(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    site.maxrecords = 3
    remote = make(server, http, output_schema="iso", page_size="5")
    pages = walk(remote)
    assert [(p.position, len(p.resources), p.next_position, p.requested) for p in pages] == [
        (1, 3, 4, 5),
        (4, 3, 7, 5),
        (7, 3, None, 5),
    ]


def test_recorded_pages_served_verbatim(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    site.verbatim_pages = {1: read(DC_PAGES[0]), 11: read(DC_PAGES[1])}
    remote = make(server, http, output_schema="dc", page_size="5")
    first = remote.list_resources(None)
    assert (first.total, len(first.resources), first.next_cursor) == (12, 5, "6")
    last = remote.list_resources("11")
    assert (last.position, last.total, len(last.resources), last.next_cursor) == (11, 12, 2, None)


# --- fetching ---------------------------------------------------------------------------------


def test_fetch_an_iso_record_and_reparse_it(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    remote = make(server, http)
    fetched = remote.fetch("3e9a8c05")
    expected = iso_descriptor(parse_record_by_id(read(BY_ID_DOCUMENTS["3e9a8c05"]), "x", "3e9a8c05"))
    assert fetched.descriptor["title"] == expected["title"] == "test Title"
    assert fetched.descriptor["links"][:-1] == expected["links"]
    metadata = fetched.descriptor["links"][-1]
    assert metadata["type"] == "metadata"
    assert metadata["url"].startswith(server.base + "/csw?service=CSW&version=2.0.2&request=GetRecordById&id=3e9a8c05")
    assert fetched.modified == "2011-04-18"
    again = remote.reparse(fetched.raw, "3e9a8c05")
    assert again.descriptor == fetched.descriptor
    assert again.content_hash == fetched.content_hash
    by_id = site.seen[-1].params
    assert (by_id["request"], by_id["id"], by_id["elementsetname"], by_id["outputschema"]) == (
        "GetRecordById",
        "3e9a8c05",
        "full",
        GMD_NS,
    )


def test_fetch_a_dublin_core_record_by_post(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    remote = make(server, http, method="post", output_schema="dc")
    fetched = remote.fetch("urn:uuid:1ef30a8b-876d-4828-9246-c37ab4510bbd")
    assert fetched.descriptor["bbox"] == [13.754, 60.042, 17.92, 68.41]
    assert site.seen[-1].method == "POST"
    assert site.seen[-1].params["request"] == "GetRecordById"
    assert remote.reparse(fetched.raw, fetched.descriptor["identifier"]).content_hash == fetched.content_hash


def test_fetching_a_record_that_is_gone(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    with pytest.raises(RemoteError) as caught:
        make(server, http, output_schema="iso").fetch("urn:uuid:gone")
    assert caught.value.kind == "not-found"
    assert "'urn:uuid:gone'" in caught.value.message


# --- failures ---------------------------------------------------------------------------------


def test_http_500(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    site.fault = "http-500"
    remote = make(server, http, output_schema="iso")
    with pytest.raises(RemoteError) as caught:
        remote.check_availability()
    assert caught.value.kind == "http-error"
    with pytest.raises(RemoteError) as caught:
        remote.list_resources(None)
    assert caught.value.kind == "http-error"
    assert "HTTP 500, got 30 bytes of" in caught.value.message
    assert "Internal Server Error" not in caught.value.message


def test_exception_report_with_http_200(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    site.fault = "exception-200"
    remote = make(server, http, output_schema="dc")
    for call in (remote.check_availability, lambda: remote.list_resources(None), lambda: remote.fetch("x")):
        with pytest.raises(RemoteError) as caught:
            call()
        assert caught.value.kind == "exception-report"
        assert "InvalidParameterValue: Invalid outputSchema parameter value: http://bogus" in caught.value.message


def test_exception_report_with_an_error_status(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    site.fault = "exception-400"
    with pytest.raises(RemoteError) as caught:
        make(server, http, output_schema="dc").list_resources(None)
    assert caught.value.kind == "exception-report"
    assert "HTTP 400" in caught.value.message
    assert "MissingParameterValue" in caught.value.message


def test_malformed_body(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    site.fault = "malformed"
    remote = make(server, http)
    with pytest.raises(RemoteError) as caught:
        remote.check_availability()
    assert caught.value.kind == "parse-error"
    with pytest.raises(RemoteError) as caught:
        make(server, http, output_schema="iso").list_resources(None)
    assert caught.value.kind == "parse-error"
    assert "malformed XML" in caught.value.message


def test_refused_connection(http: HttpClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    remote = CswRemote(f"http://127.0.0.1:{port}/csw", RemoteOptions({}), http)
    with pytest.raises(RemoteError) as caught:
        remote.check_availability()
    assert caught.value.kind == "unreachable"
    with pytest.raises(RemoteError) as caught:
        remote.list_resources(None)
    assert caught.value.kind == "unreachable"


# --- PEERS quirk 1: gzip with the uncompressed Content-Length -----------------------------------


def test_httpx_alone_fails_on_the_wrong_content_length(server: LoopbackCsw, site: CswSite, http: HttpClient) -> None:
    site.gzip_wrong_length = True
    with pytest.raises(RemoteError) as caught:
        http.get(server.base + "/csw?service=CSW&request=GetCapabilities")
    assert caught.value.kind == "unreachable"
    assert "complete message body" in caught.value.message


def test_remote_copes_with_gzip_and_the_wrong_content_length(
    server: LoopbackCsw, site: CswSite, http: HttpClient
) -> None:
    site.gzip_wrong_length = True
    remote = make(server, http, page_size="4")
    assert remote.check_availability() is True
    pages = walk(remote)
    assert sum(len(p.resources) for p in pages) == 9
    assert remote.fetch("3e9a8c05").descriptor["title"] == "test Title"
    # The first request accepted gzip and failed; it was retried without, and
    # every later request asks for the identity encoding straight away.
    encodings = [s.accept_encoding for s in site.seen]
    assert "gzip" in encodings[0]
    assert encodings[1:] == ["identity"] * (len(encodings) - 1)
    assert len(encodings) == 1 + 1 + len(pages) + 1
