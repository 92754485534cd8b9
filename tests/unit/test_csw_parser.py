"""CSW 2.0.2 parsing and normalising, on recorded documents (no network).

Expected values were read by hand from the documents under tests/data/csw.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from harvesting.remotes.base import RemoteError, RemoteOptions, content_hash
from harvesting.remotes.csw import (
    CSW_NS,
    GMD_NS,
    CswRemote,
    axis_order,
    brief_record,
    check_status,
    dc_descriptor,
    getrecordbyid_body,
    getrecordbyid_params,
    getrecords_body,
    getrecords_params,
    iso_descriptor,
    ows_bbox,
    parse_capabilities,
    parse_listing,
    parse_record_by_id,
    parse_search_results,
    record_bytes,
    record_descriptor,
    record_identifier,
    with_query,
)
from harvesting.remotes.http import HttpClient
from harvesting.remotes.xml import local_name, parse_xml

DATA = Path(__file__).resolve().parents[1] / "data" / "csw"
URL = "http://127.0.0.1:8000/csw"
DC_NS = "http://purl.org/dc/elements/1.1/"

CITE_PAGE1 = "captured-pycsw-2.6.2/GetRecords_cite_dc_full_page1.xml"
CITE_PAGE3 = "captured-pycsw-2.6.2/GetRecords_cite_dc_full_page3_last.xml"
CITE_HITS = "captured-pycsw-2.6.2/GetRecords_cite_hits.xml"
CITE_POST_SUMMARY = "captured-pycsw-2.6.2/POST_GetRecords_cite_summary_start11.xml"
APISO_GMD_PAGE1 = "captured-pycsw-2.6.2/GetRecords_apiso_gmd_full_page1.xml"
APISO_DC_SUMMARY = "captured-pycsw-2.6.2/GetRecords_apiso_dc_summary_all.xml"
TENK_BRIEF_PAGE51 = "captured-pycsw-2.6.2/GetRecords_10k_gmd_brief_page51.xml"
APISO_BY_ID = "captured-pycsw-2.6.2/GetRecordById_apiso_gmd.xml"
CAPS_202 = "captured-pycsw-2.6.2/GetCapabilities_202.xml"
CAPS_300 = "captured-pycsw-2.6.2/GetCapabilities_300.xml"
CAPS3_202 = "captured-pycsw-3.0.0b2/csw_GetCapabilities_202.xml"
CSW30_FULL = "captured-pycsw-3.0.0b2/csw30_GetRecords_full.xml"
PYCSW3_DC_BRIEF = "captured-pycsw-3.0.0b2/csw_GetRecords_dc_brief.xml"
GEONODE_PAGE = "geonode/catalogue_csw_GetRecords.xml"
CENSUS_GMI = "geodatagov/cb_2016_us_division_500k.shp.iso.xml"
GEODATAGOV_PAGE3 = "geodatagov/sample3_getrecords2.xml"
GEODATAGOV_PAGE4 = "geodatagov/sample4_getrecords2.xml"
GEODATAGOV_BY_ID = "geodatagov/sample4_id_OT.102019.6339.1.xml"
OWSLIB_DC = "owslib/9250AA67-F3AC-6C12-0CB9-0662231AA181_dc.xml"
OWSLIB_ISO = "owslib/9250AA67-F3AC-6C12-0CB9-0662231AA181_iso.xml"
OWSLIB_NGR = "owslib/csw_iso_identifier.xml"
CANADA = {
    "07b7ef80-6061-43fc-b874-e2800e9ae547": "Effective growing season degree days for warm season crops, for 2 weeks",
    "1687cac6-ee13-4866-ab8a-114c2ede7b13": "Cool wave days for cool season/overwintering crops (< 5°C)",
    # The document has "herbaceous&#160; crops": titles are one line with whitespace collapsed.
    "4e81a467-fc14-4fa0-a1d6-9d65336587c6": "Ice freeze days (herbaceous crops) in dormant period (< -15°C)",
}
EXCEPTION_REPORTS = {
    "captured-pycsw-2.6.2/Exception_MissingParameterValue.xml": "MissingParameterValue",
    "captured-pycsw-2.6.2/Exception_invalid_parameter.xml": "InvalidParameterValue",
    "pycsw-expected/get_GetRecords-sortby-invalid-propertyname.xml": "InvalidParameterValue",
    "pycsw-expected/post_Exception-GetRecords-invalid-xml.xml": "NoApplicableCode",
}


def read(relative: str) -> bytes:
    return (DATA / relative).read_bytes()


def root_of(relative: str) -> Any:
    return parse_xml(read(relative), relative)


def listing(relative: str, position: int = 1, requested: int = 10) -> Any:
    return parse_listing(read(relative), relative, position=position, requested=requested)


def records_in(relative: str) -> list[Any]:
    return list(parse_search_results(read(relative), relative).records)


def dc_record(relative: str, identifier: str) -> Any:
    for record in records_in(relative):
        if record.findtext(f"{{{DC_NS}}}identifier") == identifier:
            return record
    raise AssertionError(f"{identifier} not in {relative}")


def edited(relative: str, edit: Any) -> bytes:
    """The recorded document after `edit(root)` changed it in place."""
    root = copy.deepcopy(root_of(relative))
    edit(root)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def search_results(root: Any) -> Any:
    return root.find(f"{{{CSW_NS}}}SearchResults")


@pytest.fixture
def remote() -> Iterator[CswRemote]:
    http = HttpClient()
    try:
        yield CswRemote(URL, RemoteOptions({"output_schema": "iso"}), http)
    finally:
        http.close()


# --- listing pages: counts -------------------------------------------------------------------


def test_cite_dublin_core_first_page() -> None:
    page = listing(CITE_PAGE1, position=1, requested=5)
    assert (page.total, len(page.resources), page.position, page.next_position) == (12, 5, 1, 6)
    assert page.next_cursor == "6"
    assert page.requested == 5
    assert [r.remote_id for r in page.resources] == [
        "urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f",
        "urn:uuid:1ef30a8b-876d-4828-9246-c37ab4510bbd",
        "urn:uuid:66ae76b7-54ba-489b-a582-0f0633d96493",
        "urn:uuid:6a3de50b-fa66-4b58-a0e6-ca146fdd18d4",
        "urn:uuid:784e2afd-a9fd-44a6-9a92-a3848371c8ec",
    ]
    first, untitled = page.resources[0], page.resources[1]
    assert (first.title, first.resource_type, first.modified) == ("Lorem ipsum", "image", None)
    # The CITE record 1ef30a8b has no dc:title at all.
    assert (untitled.title, untitled.resource_type) == ("", "service")


def test_cite_dublin_core_last_page_ends_the_listing() -> None:
    page = listing(CITE_PAGE3, position=11, requested=5)
    assert (page.total, len(page.resources), page.position) == (12, 2, 11)
    assert page.next_position is None  # nextRecord="0"
    assert page.next_cursor is None
    assert [r.title for r in page.resources] == ["", "Fuscé vitae ligulä"]


def test_post_summary_page_reads_like_the_get_page() -> None:
    page = listing(CITE_POST_SUMMARY, position=11, requested=5)
    assert [(r.remote_id, r.title) for r in page.resources] == [
        ("urn:uuid:ab42a8c4-95e8-4630-bf79-33e59241605a", ""),  # an empty <dc:title></dc:title>
        ("urn:uuid:e9330592-0932-474b-be34-c3a3bb67c7db", "Fuscé vitae ligulä"),
    ]
    assert page.next_cursor is None


def test_apiso_iso_full_first_page() -> None:
    page = listing(APISO_GMD_PAGE1, requested=5)
    assert (page.total, len(page.resources), page.next_position, page.next_cursor) == (17, 5, 6, "6")
    first = page.resources[0]
    assert (first.remote_id, first.title, first.resource_type, first.modified) == (
        "3e9a8c05",
        "test Title",
        "service",
        "2011-04-18",
    )
    assert [(r.title, r.resource_type, r.modified) for r in page.resources[1:]] == [
        ("Aerial Photos", "dataset", "2009-10-09")
    ] * 4


def test_apiso_dublin_core_summary_carries_modified() -> None:
    page = listing(APISO_DC_SUMMARY, requested=100)
    # Asked for everything; pycsw capped the page at its maxrecords (10).
    assert (page.total, len(page.resources), page.next_position, page.requested) == (17, 10, 11, 100)
    assert page.resources[0].modified == "2011-04-18"
    assert page.resources[0].resource_type == "service"


def test_10k_iso_brief_page_51_is_capped_short_and_has_no_datestamp() -> None:
    # Page 51 of 100 starts at record 5001; pycsw returned 10 (its maxrecords) and carries on at 5011.
    page = listing(TENK_BRIEF_PAGE51, position=5001, requested=100)
    assert (page.total, len(page.resources), page.position, page.next_position) == (10000, 10, 5001, 5011)
    assert page.next_cursor == "5011"
    assert page.requested == 100
    assert page.resources[0].remote_id == "7fb5e0d3-7db5-6c26-1ed9-ad3911878944"
    assert page.resources[0].title == "Synthetic dataset 5000 (population)"
    assert page.resources[-1].title == "Synthetic dataset 5009 (hydrography)"
    assert {r.resource_type for r in page.resources} == {"dataset"}
    # The ISO brief element set has no gmd:dateStamp: why the listing asks for summary.
    assert {r.modified for r in page.resources} == {None}


def test_geonode_catalogue_brief_page() -> None:
    page = listing(GEONODE_PAGE, requested=3)
    assert (page.total, len(page.resources), page.next_position, page.next_cursor) == (1008, 3, 4, "4")
    assert [(r.remote_id, r.title, r.resource_type) for r in page.resources] == [
        ("b93f7d53-479c-47b3-84cc-e17205eae163", "CA", "dataset"),
        ("0b8e07d3-e1cd-474a-b9e4-aeb43f8c2fd8", "layer2", "dataset"),
        ("26d008e9-7ae6-4395-8247-5abc64f90bd7", "uniquetitle", "dataset"),
    ]


def test_pycsw_3_pages() -> None:
    brief = listing(PYCSW3_DC_BRIEF, requested=5)
    assert (brief.total, len(brief.resources), brief.next_position) == (29, 5, 6)
    # CSW 3.0 answers share the 2.0.2 structure, so they read too.
    full = listing(CSW30_FULL, requested=3)
    assert (full.total, len(full.resources), full.next_position) == (29, 3, 4)


def test_data_gov_pages() -> None:
    page3 = listing(GEODATAGOV_PAGE3)
    assert (page3.total, len(page3.resources), page3.next_cursor) == (2, 2, None)
    assert [(r.title, r.modified) for r in page3.resources] == [
        ("Syria_RefugeeSites_2015Apr16_HIU_USDoS", "2015-10-27T20:53:47Z"),
        ("Syria_IDPSites_2015Jun11_HIU_USDoS", "2015-10-27T20:48:34Z"),
    ]
    page4 = listing(GEODATAGOV_PAGE4)
    assert [(r.remote_id, r.modified) for r in page4.resources] == [
        ("OT.102019.6339.1", "2019-10-23"),
        ("OT.102019.6341.1", "2019-10-17"),
    ]


def test_hits_answer_with_pycsw_returned_10_is_a_parse_error() -> None:
    # pycsw 2.6.2 says numberOfRecordsReturned="10" for resultType=hits and sends no record.
    with pytest.raises(RemoteError) as caught:
        listing(CITE_HITS)
    assert caught.value.kind == "parse-error"
    assert "numberOfRecordsReturned=10 but the page holds 0 records" in caught.value.message


def test_newer_pycsw_hits_answer_is_an_empty_page_reported_as_is() -> None:
    page = listing("pycsw-expected/post_GetRecords-all-resulttype-hits.xml")
    assert (page.total, page.resources, page.next_position, page.next_cursor) == (12, [], 6, "6")


# --- listing pages: what the remote refuses or reports faithfully ----------------------------


@pytest.mark.fault("14")
def test_a_duplicate_identifier_within_a_page_is_listed_as_is() -> None:
    """A GetRecords page repeating an identifier was a parse-error that failed
    the refresh; the page lists every record, the repeat included."""

    def duplicate_first(root: Any) -> None:
        results = search_results(root)
        results.append(copy.deepcopy(results[0]))
        results.set("numberOfRecordsReturned", "6")

    page = parse_listing(edited(CITE_PAGE1, duplicate_first), "page", position=1, requested=6)
    ids = [r.remote_id for r in page.resources]
    assert len(ids) == 6 and ids[0] == ids[5] == "urn:uuid:19887a8a-f6b0-4a63-ae56-7fba0e17801f"
    assert (page.total, page.next_position, page.next_cursor) == (12, 6, "6")


def test_returned_count_disagreeing_with_the_records_is_a_parse_error() -> None:
    body = edited(CITE_PAGE1, lambda root: search_results(root).set("numberOfRecordsReturned", "4"))
    with pytest.raises(RemoteError) as caught:
        parse_listing(body, "page", position=1, requested=5)
    assert caught.value.kind == "parse-error"
    assert "numberOfRecordsReturned=4 but the page holds 5 records" in caught.value.message


@pytest.mark.parametrize(
    ("attribute", "value", "expected"),
    [
        ("numberOfRecordsMatched", "many", "is not a whole number"),
        ("numberOfRecordsMatched", "-1", "is negative"),
        ("numberOfRecordsReturned", None, "without numberOfRecordsReturned"),
    ],
)
def test_bad_counters_are_parse_errors(attribute: str, value: str | None, expected: str) -> None:
    def edit(root: Any) -> None:
        if value is None:
            del search_results(root).attrib[attribute]
        else:
            search_results(root).set(attribute, value)

    with pytest.raises(RemoteError) as caught:
        parse_listing(edited(CITE_PAGE1, edit), "page", position=1, requested=5)
    assert caught.value.kind == "parse-error"
    assert expected in caught.value.message


def test_next_record_past_the_end_stops_the_listing_but_is_reported() -> None:
    body = edited(CITE_PAGE3, lambda root: search_results(root).set("nextRecord", "13"))
    page = parse_listing(body, "page", position=11, requested=5)
    assert (page.next_position, page.next_cursor) == (13, None)


def test_missing_next_record_is_derived_from_the_page() -> None:
    body = edited(CITE_PAGE1, lambda root: search_results(root).attrib.pop("nextRecord"))
    page = parse_listing(body, "page", position=1, requested=5)
    assert (page.next_position, page.next_cursor) == (6, "6")
    last = edited(CITE_PAGE3, lambda root: search_results(root).attrib.pop("nextRecord"))
    assert parse_listing(last, "page", position=11, requested=5).next_cursor is None


def test_a_record_without_identifier_is_a_parse_error() -> None:
    def drop_identifier(root: Any) -> None:
        record = search_results(root)[2]
        record.remove(record[0])

    with pytest.raises(RemoteError) as caught:
        parse_listing(edited(CITE_PAGE1, drop_identifier), "page", position=1, requested=5)
    assert caught.value.kind == "parse-error"
    assert "record 3" in caught.value.message
    assert "'Maecenas enim'" in caught.value.message


def test_an_unexpected_record_schema_is_a_parse_error() -> None:
    def to_atom(root: Any) -> None:
        search_results(root)[0].tag = "{http://www.w3.org/2005/Atom}entry"

    with pytest.raises(RemoteError) as caught:
        parse_listing(edited(CITE_PAGE1, to_atom), "page", position=1, requested=5)
    assert caught.value.kind == "parse-error"
    assert "unsupported record element entry" in caught.value.message


def test_an_answer_that_is_not_a_getrecords_response_is_a_parse_error() -> None:
    with pytest.raises(RemoteError) as caught:
        listing(CAPS_202)
    assert caught.value.kind == "parse-error"
    assert "answered with a CSW capabilities document, not a CSW GetRecords response" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        b"",
        read(CITE_PAGE1)[:1500],
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        b"<html><body>Service temporarily unavailable</body></html>",
    ],
    ids=["empty", "truncated", "entities", "html"],
)
def test_malformed_or_hostile_bodies_are_parse_errors(body: bytes) -> None:
    with pytest.raises(RemoteError) as caught:
        parse_listing(body, "page", position=1, requested=5)
    assert caught.value.kind == "parse-error"


# --- exception reports ------------------------------------------------------------------------


@pytest.mark.parametrize(("relative", "code"), sorted(EXCEPTION_REPORTS.items()))
def test_exception_reports_are_errors_wherever_they_come(relative: str, code: str) -> None:
    body = read(relative)
    for call in (
        lambda: parse_capabilities(body, "caps"),
        lambda: parse_listing(body, "page", position=1, requested=5),
        lambda: parse_record_by_id(body, "by id", "x"),
    ):
        with pytest.raises(RemoteError) as caught:
            call()
        assert caught.value.kind == "exception-report"
        assert code in caught.value.message
        assert "\n" not in caught.value.message


def test_exception_report_text_and_locator_are_in_the_message() -> None:
    with pytest.raises(RemoteError) as caught:
        listing("captured-pycsw-2.6.2/Exception_invalid_parameter.xml")
    assert caught.value.message.endswith(
        "InvalidParameterValue: Invalid outputSchema parameter value: http://bogus (locator: outputschema)"
    )


def test_error_statuses_are_read_for_an_exception_report() -> None:
    check_status(200, b"anything", "GET x")
    with pytest.raises(RemoteError) as caught:
        check_status(400, read("captured-pycsw-2.6.2/Exception_MissingParameterValue.xml"), "GET x")
    assert caught.value.kind == "exception-report"
    assert "HTTP 400" in caught.value.message
    with pytest.raises(RemoteError) as caught:
        check_status(500, b"<h1>Internal Server Error</h1>\n", "GET x", content_type="text/html")
    # The body is described, never quoted.
    assert (caught.value.kind, caught.value.message) == ("http-error", "GET x: HTTP 500, got 31 bytes of text/html")
    with pytest.raises(RemoteError) as caught:
        check_status(404, b"Not Found", "GET x", by_id=True)
    assert caught.value.kind == "not-found"


# --- capabilities -----------------------------------------------------------------------------


def test_pycsw_capabilities_offer_iso() -> None:
    caps = parse_capabilities(read(CAPS_202), "caps")
    assert caps.title == "pycsw loopback test catalogue (apiso)"
    assert caps.versions == ("2.0.2", "3.0.0")
    assert GMD_NS in caps.output_schemas
    assert CSW_NS in caps.output_schemas
    assert caps.default_output_schema() == "iso"
    assert parse_capabilities(read(CAPS3_202), "caps").default_output_schema() == "iso"


def test_capabilities_without_the_gmd_output_schema_default_to_dublin_core() -> None:
    def drop_gmd(root: Any) -> None:
        for value in list(root.iter("{http://www.opengis.net/ows}Value")):
            if value.text == GMD_NS:
                value.getparent().remove(value)

    caps = parse_capabilities(edited(CAPS_202, drop_gmd), "caps")
    assert GMD_NS not in caps.output_schemas
    assert caps.default_output_schema() == "dc"


def test_csw_3_capabilities_listing_2_0_2_are_accepted() -> None:
    caps = parse_capabilities(read(CAPS_300), "caps")
    assert "2.0.2" in caps.versions
    assert caps.default_output_schema() == "iso"


def test_csw_3_capabilities_without_2_0_2_are_refused() -> None:
    def only_3(root: Any) -> None:
        for version in list(root.iter("{http://www.opengis.net/ows/2.0}ServiceTypeVersion")):
            if version.text == "2.0.2":
                version.getparent().remove(version)

    with pytest.raises(RemoteError) as caught:
        parse_capabilities(edited(CAPS_300, only_3), "caps")
    assert caught.value.kind == "parse-error"
    assert "does not offer CSW 2.0.2" in caught.value.message


def test_other_documents_are_not_capabilities() -> None:
    with pytest.raises(RemoteError) as caught:
        parse_capabilities(read("captured-pycsw-2.6.2/OpenSearch_description.xml"), "caps")
    assert caught.value.kind == "parse-error"
    assert "answered with an OpenSearch description, not a CSW capabilities document" in caught.value.message


# --- Dublin Core records ----------------------------------------------------------------------


def test_owslib_dublin_core_record() -> None:
    d = dc_descriptor(root_of(OWSLIB_DC))
    assert d["identifier"] == "9250AA67-F3AC-6C12-0CB9-0662231AA181"
    assert d["title"] == "ALLSPECIES"
    assert d["abstract"].startswith("272 Categorized Initiatives: Initiatives are referenced")
    assert len(d["keywords"]) == 24
    assert d["keywords"][0] == "Locations: Canada > Manitoba"
    assert d["keywords"][-1] == "Topic Category: Inland Water Resources"
    # crs="EPSG:4326" with corners "-90 -180" / "90 180": latitude first, as EPSG:4326 says.
    assert d["bbox"] == [-180.0, -90.0, 180.0, 90.0]
    assert d["crs"] == "CRS:84"
    assert d["resource_type"] == "dataset"  # http://purl.org/dc/dcmitype/Dataset
    assert d["language"] == "eng; CAN"
    assert d["dates"] == {"modified": "2009-09-03", "created": "2009-09-03"}
    assert d["contacts"] == [
        {
            "role": "creator",
            "name": "EMAN Coordinating Office, Environment Canada",
            "organisation": None,
            "email": None,
        },
        {"role": "contributor", "name": "EMAN Office", "organisation": None, "email": None},
    ]
    assert d["license"] is None
    assert d["links"] == []
    assert d["extra"]["formats"] == ["text/xml"]
    assert d["extra"]["bbox_crs"] == "EPSG:4326"
    assert d["extra"]["sources"][0].startswith("http://geodiscover.cgdi.ca/wes/serviceManagerCSW/csw?")


def test_cite_record_with_a_lat_lon_urn_bounding_box() -> None:
    record = dc_record(CITE_PAGE1, "urn:uuid:1ef30a8b-876d-4828-9246-c37ab4510bbd")
    d = dc_descriptor(record)
    # urn:x-ogc:def:crs:EPSG:6.11:4326, LowerCorner "60.042 13.754", UpperCorner "68.410 17.920" (Sweden).
    assert d["bbox"] == [13.754, 60.042, 17.92, 68.41]
    assert (d["title"], d["resource_type"]) == ("", "service")
    assert d["abstract"] == "Proin sit amet justo. In justo. Aenean adipiscing nulla id tellus."


def test_cite_records_subjects_dates_and_relations() -> None:
    dated = dc_descriptor(dc_record(CITE_PAGE1, "urn:uuid:784e2afd-a9fd-44a6-9a92-a3848371c8ec"))
    assert dated["dates"] == {"date": "2006-05-12"}
    assert dated["keywords"] == ["Hydrography--Dictionaries"]
    assert dated["extra"]["formats"] == ["application/pdf"]
    schemed = dc_descriptor(dc_record(CITE_PAGE1, "urn:uuid:6a3de50b-fa66-4b58-a0e6-ca146fdd18d4"))
    assert schemed["keywords"] == ["Vegetation"]
    assert schemed["extra"]["subject_schemes"] == {"Vegetation": "http://www.digest.org/2.1"}
    assert schemed["extra"]["relations"] == ["urn:uuid:94bc9c83-97f6-4b40-9eb8-a8e8787a5c63"]
    assert schemed["bbox"] is None


def test_dublin_core_summary_of_an_iso_record_agrees_with_the_iso_record() -> None:
    summary = dc_descriptor(records_in(APISO_DC_SUMMARY)[0])
    iso = iso_descriptor(parse_record_by_id(read(APISO_BY_ID), "by id", "3e9a8c05"))
    assert summary["identifier"] == iso["identifier"] == "3e9a8c05"
    assert summary["title"] == iso["title"] == "test Title"
    assert summary["bbox"] == iso["bbox"] == [19.37, 34.8, 29.61, 41.75]
    assert summary["dates"]["modified"] == iso["dates"]["modified"] == "2011-04-18"
    # pycsw writes a missing dct:references scheme as the string "None".
    assert summary["links"] == [{"type": "link", "url": "http://aiolos.survey.ntua.gr/geoserver/wms"}]
    assert summary["keywords"] == ["Geographic viewer (humanGeographicViewer)", "administration"]


def test_geonode_brief_record_world_box() -> None:
    d = dc_descriptor(records_in(GEONODE_PAGE)[0])
    assert d["bbox"] == [-180.0, -90.0, 180.0, 90.0]
    assert (d["title"], d["resource_type"], d["extra"]["element_set"]) == ("CA", "dataset", "BriefRecord")


def test_csw_3_record_with_an_http_uri_crs() -> None:
    d = dc_descriptor(records_in(CSW30_FULL)[1])
    # ows20:BoundingBox crs="http://www.opengis.net/def/crs/EPSG/0/4326", "60.04 13.75" / "68.41 17.92".
    assert d["bbox"] == [13.75, 60.04, 17.92, 68.41]


def test_owslib_record_in_both_schemas() -> None:
    dc = dc_descriptor(root_of(OWSLIB_DC))
    iso = iso_descriptor(root_of(OWSLIB_ISO))
    assert dc["title"] == iso["title"] == "ALLSPECIES"
    assert dc["abstract"] == iso["abstract"]
    assert dc["language"] == iso["language"] == "eng; CAN"
    assert dc["dates"]["modified"] == iso["dates"]["modified"] == "2009-09-03"
    # The two files do not describe the record alike: the ISO one has another
    # fileIdentifier and no EX_GeographicBoundingBox (only a geographic
    # description), where the Dublin Core one has a world box.
    assert (dc["identifier"], iso["identifier"]) == (
        "9250AA67-F3AC-6C12-0CB9-0662231AA181",
        "3f342f64-9348-11df-ba6a-0014c2c00eab",
    )
    assert dc["bbox"] == [-180.0, -90.0, 180.0, 90.0]
    assert iso["bbox"] is None


# --- ISO records ------------------------------------------------------------------------------


def test_pycsw_iso_service_record() -> None:
    d = iso_descriptor(parse_record_by_id(read(APISO_BY_ID), "by id", "3e9a8c05"))
    assert d["identifier"] == "3e9a8c05"
    assert (d["title"], d["abstract"]) == ("test Title", "test Abstract")
    assert d["keywords"] == ["Geographic viewer (humanGeographicViewer)", "administration"]
    assert d["bbox"] == [19.37, 34.8, 29.61, 41.75]
    assert d["crs"] == "CRS:84"
    assert d["temporal_extent"] == ["2011-04-18", "2011-04-20"]
    assert d["resource_type"] == "service"
    assert d["links"] == [{"type": "link", "url": "http://aiolos.survey.ntua.gr/geoserver/wms"}]
    assert d["contacts"] == [
        {"role": "pointOfContact", "name": None, "organisation": "NTUA", "email": "tzotsos@gmail.com"},
        {"role": "owner", "name": None, "organisation": "NTUA", "email": "tzotsos@gmail.com"},
    ]
    assert d["license"] == "Conditions unknown; no limitation"
    assert d["language"] == "eng"
    assert d["dates"] == {"modified": "2011-04-18", "creation": "2011-04-19"}
    assert d["extra"]["keyword_groups"] == [
        {"keywords": ["Geographic viewer (humanGeographicViewer)"]},
        {"keywords": ["administration"], "thesaurus": "GEMET Themes, version 2.3"},
    ]
    assert d["extra"]["service_type"] == "view"
    assert d["extra"]["metadata_schema"] == "iso19139"


def test_census_iso_19115_2_record() -> None:
    d = iso_descriptor(root_of(CENSUS_GMI))
    assert d["identifier"] == "cb_2016_us_division_500k.shp.iso.xml"
    assert d["title"] == "2016 Cartographic Boundary File, Division for United States, 1:500,000"
    assert d["abstract"].startswith("The 2016 cartographic boundary shapefiles are simplified\nrepresentations")
    assert d["bbox"] == [-179.148909, -14.548699, 179.77847, 71.365162]
    assert d["temporal_extent"] == ["2017-03", "2017-03"]
    assert d["resource_type"] == "dataset"  # codeListValue="dataset", text " dataset "
    assert d["keywords"] == [
        "Boundaries",
        "2016",
        "SHP",
        "Cartographic Boundary",
        "Division",
        "Generalized",
        "United States",
        "US",
    ]
    assert [g.get("thesaurus") for g in d["extra"]["keyword_groups"]] == [
        "ISO 19115 Topic Categories",
        "None",
        "ISO 3166 Codes for the representation of names of countries and their subdivisions",
    ]
    assert [g["type"] for g in d["extra"]["keyword_groups"]] == ["theme", "theme", "place"]
    assert d["links"] == [
        {
            "type": "link",
            "url": "https://www2.census.gov/geo/tiger/GENZ2016/shp/cb_2016_us_division_500k.zip",
            "name": "Shapefile Zip File",
        },
        {
            "type": "link",
            "url": "https://www.census.gov/geo/maps-data/data/tiger-cart-boundary.html",
            "name": "Cartographic Boundary Shapefiles",
            "description": "Simplified representations of selected geographic areas from the Census Bureau's "
            "MAF/TIGER geographic database",
        },
    ]
    # Every party is an xlink to NOAA's docucomp registry, known only by its title.
    assert [(c["role"], c["href"].rsplit("/", 1)[-1]) for c in d["contacts"]] == [
        ("contact", "1df27e57-4768-42de-909b-52f530601fba"),
        ("pointOfContact", "09b8253a-e2dc-4a6b-a905-11f1e0e87b3b"),
        ("citedResponsibleParty", "ddd21bfb-2229-465b-95b2-bee36200b0e5"),
        ("distributor", "f48e4893-a57f-4f2b-ad5d-0cca1b34ec62"),
    ]
    assert d["contacts"][0]["name"] == (
        "U.S Department of Commerce, U.S Census Bureau, Geographic Customer Services Branch (point of Contact)"
    )
    assert d["license"].startswith("Access Constraints: None; Use Constraints:The intended display scale")
    assert d["extra"]["constraints"]["access"] == ["otherRestrictions"]
    assert d["language"] == "eng"
    assert d["dates"] == {"modified": "2017-03", "publication": "2017-03"}
    assert d["extra"]["metadata_schema"] == "iso19115-2"
    assert d["extra"]["topic_categories"] == ["boundaries"]
    assert d["extra"]["formats"] == ["SHP", "HTML"]


def test_data_gov_get_record_by_id_record() -> None:
    record = parse_record_by_id(read(GEODATAGOV_BY_ID), "by id", "OT.102019.6339.1")
    d = iso_descriptor(record)
    assert d["title"] == "Alteration of Groundwater Flow due to Slow Landslide Failure, CA"
    assert d["bbox"] == [-121.770011856093, 37.4265765524366, -121.726583556281, 37.5300476782046]
    assert d["links"] == [
        {
            "type": "HTTP",
            "url": "https://doi.org/10.5069/G9SQ8XJP",
            "name": "Download",
            "description": "Navigate directly to the URL for data access and download.",
        }
    ]
    # The code list value wins over a disagreeing text ("originator" vs "resourceProvider").
    assert [(c["role"], c["organisation"]) for c in d["contacts"]] == [
        ("distributor", "OpenTopography Facility"),
        ("originator", "National Center for Airborne Laser Mapping"),
        ("originator", "National Science Foundation"),
        ("originator", "Colleen Murphy"),
        ("originator", "OpenTopography Facility"),
    ]
    assert d["contacts"][0]["email"] == "info@opentopography.org"
    assert d["extra"]["reference_systems"] == [
        "NAD83 (2011) (EPOCH:2010) / UTM Zone 10N [EPSG: 6339]",
        "NAVD88 [EPSG: 5703]",
    ]
    assert d["language"] == "en"


@pytest.mark.parametrize(("identifier", "title"), sorted(CANADA.items()))
def test_open_canada_records(identifier: str, title: str) -> None:
    d = iso_descriptor(root_of(f"open-canada-iso/{identifier}.xml"))
    assert d["identifier"] == identifier
    # The English CharacterString only; the French PT_FreeText goes to extra.
    assert d["title"] == title
    assert set(d["extra"]["title_translations"]) == {"fra"}
    assert set(d["extra"]["abstract_translations"]) == {"fra"}
    # NAP code lists: codeListValue "RI_622", text "dataset; jeuDonnées".
    assert d["resource_type"] == "dataset"
    assert d["bbox"] == [-141.003, 41.6755, -52.6174, 83.1139]
    assert d["license"] == "license"  # only the NAP access code "license; licence"
    assert d["contacts"] == []  # an empty gmd:contact
    assert d["keywords"] == []
    assert d["language"] == "eng; CAN"
    assert d["dates"]["creation"] == "2018-11-01"
    assert d["extra"]["reference_systems"] == ["EPSG:3857"]
    assert d["extra"]["topic_categories"] == ["climatologyMeteorologyAtmosphere"]
    assert len([link for link in d["links"] if link["type"] == "link"]) == 5


def test_open_canada_thumbnails_and_dates() -> None:
    heat = iso_descriptor(root_of("open-canada-iso/07b7ef80-6061-43fc-b874-e2800e9ae547.xml"))
    assert [link["url"].rsplit("/", 1)[-1] for link in heat["links"] if link["type"] == "thumbnail"] == [
        "Heat_s.png",
        "Heat.png",
    ]
    assert heat["dates"] == {"modified": "2019-03-15T19:51:14", "publication": "2019-01-31", "creation": "2018-11-01"}
    assert heat["extra"]["parent_identifier"] == "13143a81-0313-4152-94d7-7f60dd15fbc8"
    assert heat["extra"]["title_translations"]["fra"].startswith("Degrés-jours de croissance effectifs")
    # 4e81a467 lists the same graphic twice.
    ice = iso_descriptor(root_of("open-canada-iso/4e81a467-fc14-4fa0-a1d6-9d65336587c6.xml"))
    assert [link["url"].rsplit("/", 1)[-1] for link in ice["links"] if link["type"] == "thumbnail"] == ["ifd.png"]


def test_dutch_record_with_anchors() -> None:
    d = iso_descriptor(root_of(OWSLIB_NGR))
    assert d["identifier"] == "f44dac86-2228-412f-8355-e56446ca9933"
    assert d["language"] == "dut"  # LanguageCode codeListValue
    assert d["bbox"] == [2.4506, 50.9152, 7.9872, 54.0807]
    assert [(link["type"], link.get("name")) for link in d["links"]][:2] == [
        ("OGC:WMS", "ManagementRestrictionOrRegulationZone"),
        ("OGC:WFS", "MarineRegion:ManagementRestrictionOrRegulationZone"),
    ]
    assert (
        d["keywords"][0]
        == "Gebiedsbeheer, gebieden waar beperkingen gelden, gereguleerde gebieden en rapportage-eenheden"
    )
    assert d["extra"]["keyword_groups"][0]["thesaurus"] == "GEMET - INSPIRE themes, version 1.0"
    assert d["dates"] == {"modified": "2024-08-28", "revision": "2020-10-05"}
    assert "http://creativecommons.org/publicdomain/mark/1.0/deed.nl" in d["extra"]["constraints"]["links"]
    assert d["contacts"][0]["role"] == "pointOfContact"  # codeListValue, the text says "contactpunt"


def test_iso_brief_records_list_but_have_no_datestamp() -> None:
    brief = brief_record(records_in(TENK_BRIEF_PAGE51)[0], "page")
    assert brief.modified is None
    d = record_descriptor(records_in(TENK_BRIEF_PAGE51)[0])
    assert d["bbox"] == [72.33, -3.69, 79.05, 1.66]
    assert d["links"][0]["type"] == "OGC:WMS"
    assert d["links"][0]["name"] == "layer_05000"


# --- GetRecordById ----------------------------------------------------------------------------


def test_empty_get_record_by_id_response_means_not_found() -> None:
    body = f'<csw:GetRecordByIdResponse xmlns:csw="{CSW_NS}"/>'.encode()
    with pytest.raises(RemoteError) as caught:
        parse_record_by_id(body, "GET x", "urn:uuid:gone")
    assert caught.value.kind == "not-found"
    assert "'urn:uuid:gone'" in caught.value.message


def test_get_record_by_id_answering_another_record_is_a_parse_error() -> None:
    with pytest.raises(RemoteError) as caught:
        parse_record_by_id(read(APISO_BY_ID), "GET x", "366f6257-19eb-4f20-ba78-0698ac4aae77")
    assert caught.value.kind == "parse-error"
    assert "the answer holds '3e9a8c05'" in caught.value.message


def test_a_bare_record_is_accepted_as_a_get_record_by_id_answer() -> None:
    record = parse_record_by_id(read(OWSLIB_DC), "GET x", "9250AA67-F3AC-6C12-0CB9-0662231AA181")
    assert local_name(record) == "Record"


# --- raw documents and reparse ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "identifier"),
    [
        (APISO_BY_ID, "3e9a8c05"),
        (GEODATAGOV_BY_ID, "OT.102019.6339.1"),
        (OWSLIB_DC, "9250AA67-F3AC-6C12-0CB9-0662231AA181"),
        (OWSLIB_ISO, "3f342f64-9348-11df-ba6a-0014c2c00eab"),
        (CENSUS_GMI, "cb_2016_us_division_500k.shp.iso.xml"),
        ("open-canada-iso/07b7ef80-6061-43fc-b874-e2800e9ae547.xml", "07b7ef80-6061-43fc-b874-e2800e9ae547"),
    ],
)
def test_reparse_rebuilds_the_same_descriptor(remote: CswRemote, relative: str, identifier: str) -> None:
    record = parse_record_by_id(read(relative), relative, identifier)
    raw = record_bytes(record)
    first = remote.reparse(raw, identifier)
    again = remote.reparse(first.raw, identifier)
    assert first.raw == raw
    assert again.descriptor == first.descriptor
    assert again.content_hash == first.content_hash == content_hash(first.descriptor)
    # The record alone, namespaces included, without the GetRecordById envelope.
    assert local_name(parse_xml(raw, "raw")) in ("Record", "MD_Metadata", "MI_Metadata")
    expected = record_descriptor(record)
    assert {k: v for k, v in first.descriptor.items() if k != "links"} == {
        k: v for k, v in expected.items() if k != "links"
    }
    assert first.modified == expected["dates"].get("modified")


def test_reparse_adds_the_get_record_by_id_link(remote: CswRemote) -> None:
    fetched = remote.reparse(record_bytes(parse_record_by_id(read(APISO_BY_ID), "x", "3e9a8c05")), "3e9a8c05")
    link = fetched.descriptor["links"][-1]
    assert link["type"] == "metadata"
    assert dict(parse_qsl(urlsplit(link["url"]).query)) == {
        "service": "CSW",
        "version": "2.0.2",
        "request": "GetRecordById",
        "id": "3e9a8c05",
        "elementSetName": "full",
        "outputSchema": GMD_NS,
    }


def test_reparse_refuses_a_raw_document_of_another_record(remote: CswRemote) -> None:
    with pytest.raises(RemoteError) as caught:
        remote.reparse(read(OWSLIB_DC), "something-else")
    assert caught.value.kind == "parse-error"
    with pytest.raises(RemoteError) as caught:
        remote.reparse(read(CAPS_202), "x")
    assert caught.value.kind == "parse-error"
    assert "not a CSW record" in caught.value.message


# --- axis order -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crs", "order"),
    [
        ("urn:ogc:def:crs:EPSG::4326", "latlon"),
        ("urn:ogc:def:crs:EPSG:6.6:4326", "latlon"),
        ("urn:x-ogc:def:crs:EPSG:6.11:4326", "latlon"),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", "latlon"),
        ("EPSG:4326", "latlon"),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", "lonlat"),
        ("urn:ogc:def:crs:OGC:2:84", "lonlat"),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "lonlat"),
        ("CRS:84", "lonlat"),
        ("http://www.opengis.net/gml/srs/epsg.xml#4326", "lonlat"),
        (None, "lonlat"),
        ("EPSG:3857", None),
        ("urn:ogc:def:crs:EPSG::28992", None),
    ],
)
def test_axis_order_of_crs_spellings(crs: str | None, order: str | None) -> None:
    assert axis_order(crs) == order


def _box(tag: str, crs: str | None, lower: str, upper: str) -> Any:
    ows = "http://www.opengis.net/ows"
    el = etree.Element(f"{{{ows}}}{tag}")
    if crs is not None:
        el.set("crs", crs)
    etree.SubElement(el, f"{{{ows}}}LowerCorner").text = lower
    etree.SubElement(el, f"{{{ows}}}UpperCorner").text = upper
    return el


def test_bounding_boxes_come_out_lon_lat() -> None:
    assert ows_bbox(_box("BoundingBox", "urn:ogc:def:crs:EPSG::4326", "34.8 19.37", "41.75 29.61")) == [
        19.37,
        34.8,
        29.61,
        41.75,
    ]
    assert ows_bbox(_box("BoundingBox", "urn:ogc:def:crs:OGC:1.3:CRS84", "19.37 34.8", "29.61 41.75")) == [
        19.37,
        34.8,
        29.61,
        41.75,
    ]
    assert ows_bbox(_box("WGS84BoundingBox", None, "-10 20", "30 40")) == [-10.0, 20.0, 30.0, 40.0]
    # Projected boxes cannot become lon/lat without a projection library.
    assert ows_bbox(_box("BoundingBox", "EPSG:28992", "13565 306846", "278026 619352")) is None
    assert ows_bbox(_box("BoundingBox", "EPSG:4326", "garbage", "41.75 29.61")) is None


def test_an_impossible_box_in_the_declared_order_is_read_in_the_other_one() -> None:
    # GeoNetwork wrote lon/lat under lat/lon URNs: -120 cannot be a latitude.
    box = _box("BoundingBox", "urn:ogc:def:crs:EPSG:6.6:4326", "-120.5 30.25", "-110 40")
    assert ows_bbox(box) == [-120.5, 30.25, -110.0, 40.0]
    assert ows_bbox(_box("BoundingBox", "EPSG:4326", "-200 -100", "200 100")) is None


# --- requests ---------------------------------------------------------------------------------


def test_getrecords_query_keeps_the_configured_parameters() -> None:
    url = with_query(
        "https://example.org/geonetwork/srv/eng/csw?lang=en&REQUEST=Old",
        getrecords_params("iso", 101, 50, "AnyText LIKE '%water & soil%'"),
    )
    params = parse_qsl(urlsplit(url).query)
    assert params[0] == ("lang", "en")
    assert dict(params) == {
        "lang": "en",
        "service": "CSW",
        "version": "2.0.2",
        "request": "GetRecords",
        "typeNames": "gmd:MD_Metadata",
        "resultType": "results",
        "elementSetName": "summary",
        "outputSchema": GMD_NS,
        "startPosition": "101",
        "maxRecords": "50",
        "constraintLanguage": "CQL_TEXT",
        "constraint_language_version": "1.1.0",
        "constraint": "AnyText LIKE '%water & soil%'",
    }
    dc = dict(parse_qsl(urlsplit(with_query(URL, getrecords_params("dc", 1, 10, None))).query))
    assert (dc["typeNames"], dc["outputSchema"]) == ("csw:Record", CSW_NS)
    assert "constraint" not in dc


def test_post_body_matches_the_recorded_pycsw_request() -> None:
    recorded = parse_xml(read("captured-pycsw-2.6.2/POST_GetRecords_request_body.xml"), "recorded")
    built = parse_xml(getrecords_body("dc", 11, 5, None), "built")
    assert built.tag == recorded.tag
    for attribute in ("service", "version", "resultType", "startPosition", "maxRecords", "outputSchema"):
        assert built.get(attribute) == recorded.get(attribute), attribute
    query, recorded_query = built[0], recorded[0]
    assert (query.tag, query.get("typeNames")) == (recorded_query.tag, recorded_query.get("typeNames"))
    assert [(c.tag, c.text) for c in query] == [(c.tag, c.text) for c in recorded_query]


def test_post_body_carries_the_cql_constraint_escaped() -> None:
    body = getrecords_body("iso", 1, 100, "title LIKE '%<a & b>%'")
    root = parse_xml(body, "built")
    query = root.find(f"{{{CSW_NS}}}Query")
    assert query.get("typeNames") == "gmd:MD_Metadata"
    assert query.nsmap["gmd"] == GMD_NS  # so the typeNames QName resolves
    constraint = query.find(f"{{{CSW_NS}}}Constraint")
    assert constraint.get("version") == "1.1.0"
    assert constraint.findtext(f"{{{CSW_NS}}}CqlText") == "title LIKE '%<a & b>%'"


def test_get_record_by_id_requests() -> None:
    params = dict(getrecordbyid_params("dc", "urn:uuid:x"))
    assert params == {
        "service": "CSW",
        "version": "2.0.2",
        "request": "GetRecordById",
        "id": "urn:uuid:x",
        "elementSetName": "full",
        "outputSchema": CSW_NS,
    }
    root = parse_xml(getrecordbyid_body("iso", "a&b"), "built")
    assert (local_name(root), root.get("outputSchema")) == ("GetRecordById", GMD_NS)
    assert root.findtext(f"{{{CSW_NS}}}Id") == "a&b"
    assert root.findtext(f"{{{CSW_NS}}}ElementSetName") == "full"


# --- options ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"output_schema": "fgdc"}, "output_schema='fgdc'"),
        ({"method": "soap"}, "method='soap'"),
        ({"page_size": "0"}, "must be positive"),
        ({"page_size": "lots"}, "not a whole number"),
    ],
)
def test_bad_options_are_refused(options: dict[str, str], expected: str) -> None:
    http = HttpClient()
    try:
        with pytest.raises(RemoteError) as caught:
            CswRemote(URL, RemoteOptions(options), http)
    finally:
        http.close()
    assert caught.value.kind == "bad-option"
    assert expected in caught.value.message


def test_a_cursor_that_is_not_a_position_is_refused(remote: CswRemote) -> None:
    for cursor in ("0", "abc", "-5"):
        with pytest.raises(RemoteError) as caught:
            remote.list_resources(cursor)
        assert caught.value.kind == "bad-option"


# --- every recorded document --------------------------------------------------------------------

# The directories this test module copied; pycsw-*-records belong to the interop tests.
OWN_DIRECTORIES = (
    "captured-pycsw-2.6.2",
    "captured-pycsw-3.0.0b2",
    "geodatagov",
    "geonode",
    "open-canada-iso",
    "owslib",
    "pycsw-expected",
)

# Which parser each copied document is for; every other parser must refuse it cleanly.
PARSES_AS: dict[str, str] = {
    CAPS_202: "capabilities",
    CAPS_300: "capabilities",
    CAPS3_202: "capabilities",
    CITE_PAGE1: "listing",
    CITE_PAGE3: "listing",
    CITE_POST_SUMMARY: "listing",
    APISO_GMD_PAGE1: "listing",
    APISO_DC_SUMMARY: "listing",
    TENK_BRIEF_PAGE51: "listing",
    CSW30_FULL: "listing",
    PYCSW3_DC_BRIEF: "listing",
    GEONODE_PAGE: "listing",
    GEODATAGOV_PAGE3: "listing",
    GEODATAGOV_PAGE4: "listing",
    "pycsw-expected/post_GetRecords-all-resulttype-hits.xml": "listing",
    APISO_BY_ID: "record",
    GEODATAGOV_BY_ID: "record",
    CENSUS_GMI: "record",
    OWSLIB_DC: "record",
    OWSLIB_ISO: "record",
    OWSLIB_NGR: "record",
    **{f"open-canada-iso/{identifier}.xml": "record" for identifier in CANADA},
}
# Documents no parser accepts, with the error kind they give.
REFUSED: dict[str, str] = {
    **dict.fromkeys(EXCEPTION_REPORTS, "exception-report"),
    CITE_HITS: "parse-error",
    "captured-pycsw-2.6.2/OpenSearch_description.xml": "parse-error",
    "captured-pycsw-2.6.2/POST_GetRecords_request_body.xml": "parse-error",
}


def _probe_identifier(body: bytes) -> str:
    """The identifier of the record a document holds, if it holds one at its top."""
    root = parse_xml(body, "doc")
    for candidate in [root, *root]:
        identifier = record_identifier(candidate)
        if identifier:
            return identifier
    return "no-such-record"


OWN_DOCUMENTS = sorted(str(p.relative_to(DATA)) for d in OWN_DIRECTORIES for p in (DATA / d).rglob("*.xml"))


def test_every_copied_document_has_an_expected_outcome() -> None:
    assert len(OWN_DOCUMENTS) == 31
    assert set(OWN_DOCUMENTS) == set(PARSES_AS) | set(REFUSED)


def _attempt(call: Any) -> str:
    try:
        call()
    except RemoteError as e:
        assert e.message, e
        assert "\n" not in e.message, e.message
        assert e.kind in ("parse-error", "exception-report"), e
        return e.kind
    return "ok"


@pytest.mark.parametrize("relative", OWN_DOCUMENTS)
def test_every_copied_document_parses_or_fails_clearly(remote: CswRemote, relative: str) -> None:
    body = read(relative)

    def as_record() -> None:
        identifier = _probe_identifier(body)
        remote.reparse(record_bytes(parse_record_by_id(body, relative, identifier)), identifier)

    outcomes = {
        "capabilities": _attempt(lambda: parse_capabilities(body, relative)),
        "listing": _attempt(lambda: parse_listing(body, relative, position=1, requested=10)),
        "record": _attempt(as_record),
    }
    if relative in PARSES_AS:
        assert [name for name, outcome in outcomes.items() if outcome == "ok"] == [PARSES_AS[relative]], outcomes
    else:
        assert set(outcomes.values()) == {REFUSED[relative]}, outcomes


# Loaded into real pycsw servers by the interop tests; they must read as records too.
INTEROP_RECORDS = sorted(
    str(p.relative_to(DATA)) for d in ("pycsw-cite-records", "pycsw-apiso-records") for p in (DATA / d).glob("*.xml")
)


def test_interop_record_sets_are_all_there() -> None:
    # 12 CITE Dublin Core files and 18 apiso ISO files: an empty glob must fail, not skip.
    assert len(INTEROP_RECORDS) == 30


@pytest.mark.parametrize("relative", INTEROP_RECORDS)
def test_interop_record_sets_read_as_records(remote: CswRemote, relative: str) -> None:
    body = read(relative)
    identifier = _probe_identifier(body)
    fetched = remote.reparse(record_bytes(parse_record_by_id(body, relative, identifier)), identifier)
    assert fetched.descriptor["identifier"] == identifier
    bbox = fetched.descriptor["bbox"]
    assert bbox is None or (-180 <= bbox[0] <= 180 and -90 <= bbox[1] <= bbox[3] <= 90)
