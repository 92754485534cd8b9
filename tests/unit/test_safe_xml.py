"""Safe XML parsing: no DTD or entity fetching, no entity bombs, tolerant of bogus BOMs."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from harvesting.remotes.base import RemoteError
from harvesting.remotes.xml import (
    find_all,
    find_text,
    local_name,
    one_line,
    parse_xml,
    raise_for_exception_report,
    strip_bogus_bom,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "wms"
URL = "http://wms.example.test/ows"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""


def read(relative: str) -> bytes:
    return (DATA / relative).read_bytes()


# --- DTDs and entities ------------------------------------------------------------------


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(RemoteError) as caught:
        parse_xml(BILLION_LAUGHS, URL)
    assert time.monotonic() - started < 2.0
    assert caught.value.kind == "parse-error"
    assert caught.value.message.startswith(f"{URL}: entity expansion refused: ")
    assert "lollol" not in caught.value.message
    assert "\n" not in caught.value.message


def test_small_entity_expansion_is_refused_too() -> None:
    # Three levels stay under libxml2's own amplification limit: our check must catch it.
    doc = b"\n".join(BILLION_LAUGHS.splitlines()[:5]) + b"\n]>\n<lolz>&lol3;</lolz>"
    with pytest.raises(RemoteError) as caught:
        parse_xml(doc, URL)
    assert caught.value.kind == "parse-error"
    assert caught.value.message == f"{URL}: document declares 3 XML entities; refused for safety"


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doc = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]><r>&x;</r>').encode()
    with pytest.raises(RemoteError) as caught:
        parse_xml(doc, URL)
    assert caught.value.kind == "parse-error"
    assert "TOP-SECRET" not in caught.value.message


def test_parameter_entity_is_refused(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED">')
    doc = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % ext SYSTEM "{dtd.as_uri()}"> %ext;]><r>&leak;</r>').encode()
    with pytest.raises(RemoteError) as caught:
        parse_xml(doc, URL)
    assert caught.value.kind == "parse-error"


def test_external_dtd_on_disk_is_not_loaded(tmp_path: Path) -> None:
    # If the DTD were loaded its entity would be substituted into the text.
    dtd = tmp_path / "ext.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED">')
    doc = f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{dtd.as_uri()}"><r>before &leak; after</r>'.encode()
    root = parse_xml(doc, URL)
    assert root.getroottree().docinfo.externalDTD is None
    assert "LEAKED" not in etree.tostring(root).decode()
    assert "LEAKED" not in "".join(root.itertext())


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b'<!ENTITY leak "LEAKED">'
        self.send_response(200)
        self.send_header("Content-Type", "application/xml-dtd")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def dtd_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every request, standing in for schemas.opengis.net."""
    hits: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"hits": hits})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_doctype_of_a_real_wms_111_document_is_never_fetched(dtd_server: tuple[str, list[str]]) -> None:
    base, hits = dtd_server
    real = read("captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_111.xml")
    official = b"http://schemas.opengis.net/wms/1.1.1/WMS_MS_Capabilities.dtd"
    assert official in real
    # Same document, DOCTYPE pointed at a server we can watch.
    doc = real.replace(official, f"{base}/wms/1.1.1/WMS_MS_Capabilities.dtd".encode())
    root = parse_xml(doc, URL)
    assert local_name(root) == "WMT_MS_Capabilities"
    assert root.getroottree().docinfo.system_url == f"{base}/wms/1.1.1/WMS_MS_Capabilities.dtd"
    time.sleep(0.1)
    assert hits == []


def test_real_111_document_with_internal_subset_parses() -> None:
    # MapServer declares <!ELEMENT VendorSpecificCapabilities EMPTY> in an internal
    # subset: a DTD without entities must not be mistaken for an attack.
    root = parse_xml(read("owslib/wms_Telascience.xml"), URL)
    assert local_name(root) == "WMT_MS_Capabilities"
    assert find_text(root, "Service", "Title") == "BM"


# --- byte-order marks and encodings -----------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        "captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_111.xml",
        "captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_130.xml",
        "owslib/wms_nationalatlas_getcapabilities_130.xml",
    ],
)
def test_bogus_ff_fe_bom_before_8bit_xml_is_tolerated(relative: str) -> None:
    real = read(relative)
    assert real.startswith(b"<?xml")
    served = b"\xff\xfe" + real
    # Taken at its word the BOM says UTF-16, and libxml2 cannot read the document.
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(served, etree.XMLParser(no_network=True, load_dtd=False))
    root = parse_xml(served, URL)
    expected = parse_xml(real, URL)
    assert etree.tostring(root) == etree.tostring(expected)


def test_bogus_bom_before_latin1_text_keeps_the_declared_encoding() -> None:
    doc = b"\xff\xfe<?xml version='1.0' encoding=\"ISO-8859-1\"?><r>Li\xe8ge</r>"
    assert parse_xml(doc, URL).text == "Liège"


def test_real_utf16_document_with_its_bom_is_left_alone() -> None:
    doc = '<?xml version="1.0" encoding="UTF-16"?><r>Zwijnaarde coördinator</r>'.encode("utf-16")
    assert doc.startswith(b"\xff\xfe<\x00")
    assert strip_bogus_bom(doc) == doc
    assert parse_xml(doc, URL).text == "Zwijnaarde coördinator"


def test_utf8_bom_and_leading_whitespace_are_stripped() -> None:
    real = read("owslib/wms_dov_getcapabilities_130.xml")
    root = parse_xml(b"\xef\xbb\xbf\r\n  " + real, URL)
    assert find_text(root, "Service", "ContactInformation", "ContactPosition") == "DOV-coördinator"


def test_strip_bogus_bom_on_short_inputs() -> None:
    assert strip_bogus_bom(b"\xff\xfe<r/>") == b"<r/>"
    assert strip_bogus_bom(b"\xfe\xff<r/>") == b"<r/>"
    assert strip_bogus_bom(b"\xff\xfe") == b"\xff\xfe"
    assert strip_bogus_bom(b"<r/>") == b"<r/>"


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \r\n\t "])
def test_empty_body(body: bytes) -> None:
    with pytest.raises(RemoteError) as caught:
        parse_xml(body, URL)
    assert caught.value.kind == "parse-error"
    assert caught.value.message == "empty response"


def test_truncated_real_document_is_a_one_line_parse_error() -> None:
    real = read("captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_130.xml")
    with pytest.raises(RemoteError) as caught:
        parse_xml(real[: len(real) // 2], URL)
    assert caught.value.kind == "parse-error"
    assert caught.value.message.startswith(f"{URL}: malformed XML: ")
    assert "\n" not in caught.value.message
    assert str(caught.value).startswith("parse-error: ")


def test_mismatched_tag_names_the_problem() -> None:
    with pytest.raises(RemoteError) as caught:
        parse_xml(b"<a>\n<b>text</c>\n</a>", URL)
    assert caught.value.kind == "parse-error"
    assert "mismatch" in caught.value.message.lower()
    assert "\n" not in caught.value.message


def test_html_error_page_is_a_parse_error() -> None:
    with pytest.raises(RemoteError) as caught:
        parse_xml(b"<html><body><p>Bad Gateway<br></body></html>", URL)
    assert caught.value.kind == "parse-error"


@pytest.mark.fault("messages")
def test_malformed_xml_messages_quote_nothing_of_the_document() -> None:
    """libxml2's messages name the document's tags and entities, and went
    into RemoteError messages verbatim: a malformed body now gets its error
    kind, position and size, with no text of it."""
    body = b"<html><body><token-s3cr3t>hunter2</body></html>"
    with pytest.raises(RemoteError) as caught:
        parse_xml(body, URL, "text/html; charset=utf-8")
    message = caught.value.message
    assert "s3cr3t" not in message and "hunter2" not in message
    found = f"expected XML, got {len(body)} bytes of text/html"
    assert message == f"{URL}: malformed XML: tag name mismatch at line 1, column 41 ({found})"
    declared = b'<!DOCTYPE r [<!ENTITY s3cr3t "x">]><r/>'
    with pytest.raises(RemoteError) as caught:
        parse_xml(declared, URL)
    assert "s3cr3t" not in caught.value.message


@pytest.mark.fault("messages")
def test_exception_report_fields_are_cleaned_and_cut() -> None:
    """An exception report's code and text are the remote's own error fields:
    shown, but without control characters and at most 160 characters."""
    # XML cannot carry C0 controls; format and separator characters it can.
    text = "\u202e\u200b" + "A" * 1000 + "\u2028"
    doc = (
        '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1">'
        f'<ows:Exception exceptionCode="Bad\u202eCode"><ows:ExceptionText>{text}</ows:ExceptionText>'
        "</ows:Exception></ows:ExceptionReport>"
    ).encode()
    with pytest.raises(RemoteError) as caught:
        raise_for_exception_report(parse_xml(doc, URL), URL)
    message = caught.value.message
    assert not {"\u202e", "\u200b", "\u2028"} & set(message)
    assert message.startswith(f"{URL}: BadCode: " + "A" * 100)
    assert len(message) <= len(f"{URL}: BadCode: ") + 160


def test_one_line_collapses_and_bounds() -> None:
    assert one_line("  a\n\t b  ") == "a b"
    assert one_line(None) == ""
    assert one_line("x" * 50, limit=10) == "x" * 9 + "…"


# --- exception reports served with HTTP 200 -----------------------------------------------

MAPSERVER_MESSAGE = (
    "msWMSLoadGetMapParams(): WMS server error. Invalid layer(s) given in the LAYERS parameter. "
    "A layer might be disabled for this request. Check wms/ows_enable_request settings."
)


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        ("captured-mapserver-8.0.0/mapserver8_exception_LayerNotDefined_111.xml", MAPSERVER_MESSAGE),
        ("captured-mapserver-8.0.0/mapserver8_exception_LayerNotDefined_130.xml", MAPSERVER_MESSAGE),
        ("captured-mapproxy-7.0.0/mapproxy7_exception_130.xml", "unknown layer: nope"),
    ],
)
def test_wms_service_exception_reports(relative: str, text: str) -> None:
    root = parse_xml(read(relative), URL)
    with pytest.raises(RemoteError) as caught:
        raise_for_exception_report(root, URL)
    assert caught.value.kind == "exception-report"
    shown = text if len(text) <= 160 else text[:159] + "…"
    assert caught.value.message == f"{URL}: LayerNotDefined: {shown}"


@pytest.mark.parametrize(
    "namespace", ["http://www.opengis.net/ows", "http://www.opengis.net/ows/1.1", "http://www.opengis.net/ows/2.0"]
)
def test_ows_exception_reports(namespace: str) -> None:
    # Shape of pycsw 2.6.2's answer to a bad outputSchema, in each OWS version's namespace.
    doc = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f'<ows:ExceptionReport xmlns:ows="{namespace}" version="1.2.0" language="en-US">'
        f'<ows:Exception exceptionCode="InvalidParameterValue" locator="outputschema">'
        f"<ows:ExceptionText>Invalid outputSchema\n   parameter value: http://bogus</ows:ExceptionText>"
        f"</ows:Exception></ows:ExceptionReport>"
    ).encode()
    with pytest.raises(RemoteError) as caught:
        raise_for_exception_report(parse_xml(doc, URL), URL)
    assert caught.value.kind == "exception-report"
    assert caught.value.message == (
        f"{URL}: InvalidParameterValue: Invalid outputSchema parameter value: http://bogus (locator: outputschema)"
    )


def test_exception_without_code() -> None:
    doc = (
        b'<ServiceExceptionReport version="1.1.1"><ServiceException>broken</ServiceException></ServiceExceptionReport>'
    )
    with pytest.raises(RemoteError) as caught:
        raise_for_exception_report(parse_xml(doc, URL), URL)
    assert caught.value.message == f"{URL}: NoApplicableCode: broken"


def test_several_exceptions_are_joined() -> None:
    doc = (
        b'<ServiceExceptionReport xmlns="http://www.opengis.net/ogc" version="1.3.0">'
        b'<ServiceException code="InvalidCRS">bad crs</ServiceException>'
        b'<ServiceException code="LayerNotDefined">no layer</ServiceException>'
        b"</ServiceExceptionReport>"
    )
    with pytest.raises(RemoteError) as caught:
        raise_for_exception_report(parse_xml(doc, URL), URL)
    assert caught.value.message == f"{URL}: InvalidCRS, LayerNotDefined: bad crs; no layer"


def test_capabilities_are_not_an_exception() -> None:
    root = parse_xml(read("captured-mapproxy-7.0.0/mapproxy7_50layers_GetCapabilities_130.xml"), URL)
    raise_for_exception_report(root, URL)


# --- helpers ------------------------------------------------------------------------------


def test_helpers_ignore_namespaces_and_comments() -> None:
    wms130 = parse_xml(read("captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_130.xml"), URL)
    wms111 = parse_xml(read("captured-mapserver-8.0.0/mapserver8_small5_GetCapabilities_111.xml"), URL)
    assert wms130.tag == "{http://www.opengis.net/wms}WMS_Capabilities"
    for root in (wms130, wms111):
        assert find_text(root, "Service", "ContactInformation", "ContactPersonPrimary", "ContactPerson") == "Jane Doe"
        assert [find_text(layer, "Name") for layer in find_all(root, "Capability", "Layer", "Layer")] == [
            f"layer_0000{i}" for i in range(5)
        ]
        assert find_text(root, "Service", "Nope") is None
    comment = etree.Comment("x")
    assert local_name(comment) == ""
