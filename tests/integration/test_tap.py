"""TAP over a store built from the real products of ../shared/data/fits, through
pyvo and plain HTTP, checked against values computed independently with astropy."""
import math
import urllib.parse
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import pyvo
import requests

from conftest import FITS_DIR
from references import centre_icrs, contains, freq_axis_edges_wavelength
import conftest

ALMA_CUBE = FITS_DIR / "alma" / "ngc3256_alma_sv_co10_cube.fits"
VOT_NS = {"v": "http://www.ivoa.net/xml/VOTable/v1.3"}


def tap(archive):
    return pyvo.dal.TAPService(archive["tap"], session=conftest.session())


def angular_sep_arcsec(ra1, dec1, ra2, dec2):
    r = math.radians
    c = (math.sin(r(dec1)) * math.sin(r(dec2)) +
         math.cos(r(dec1)) * math.cos(r(dec2)) * math.cos(r(ra1 - ra2)))
    return math.degrees(math.acos(min(1.0, c))) * 3600


def row_for(archive, stem):
    rows = tap(archive).search(
        f"SELECT * FROM ivoa.obscore WHERE obs_id LIKE '%{stem}%'").to_table()
    assert len(rows) == 1, f"expected one product for {stem}, got {len(rows)}"
    return rows[0]


def test_every_cube_is_ingested(archive):
    ids = set(tap(archive).search("SELECT obs_id FROM ivoa.obscore").to_table()["obs_id"])
    for stem in ["ngc3256_alma_sv_co10_cube", "udf_mosaic_subcube",
                 "l1448_13co_fcrao_cube", "ngc6946_wsrt_hi_cube"]:
        assert any(stem in i for i in ids), f"{stem} not in {sorted(ids)}"
    cubes = tap(archive).search(
        "SELECT obs_id FROM ivoa.obscore WHERE dataproduct_type = 'cube'").to_table()
    assert len(cubes) >= 4


def test_alma_cube_position_spectral_range_and_polarisation(archive):
    row = row_for(archive, "ngc3256_alma_sv_co10_cube")
    ra, dec = centre_icrs(ALMA_CUBE)
    assert angular_sep_arcsec(row["s_ra"], row["s_dec"], ra, dec) < 1.0
    em_min, em_max = freq_axis_edges_wavelength(ALMA_CUBE, 3)
    assert row["em_min"] == pytest.approx(em_min, rel=1e-6)
    assert row["em_max"] == pytest.approx(em_max, rel=1e-6)
    assert row["em_xel"] == 50
    assert row["pol_states"] == "/I/"
    assert row["pol_xel"] == 1
    assert row["dataproduct_type"] == "cube"
    assert row["s_xel1"] == 128 and row["s_xel2"] == 128
    assert row["facility_name"] == "ALMA"
    assert row["target_name"].strip() == "NGC3256"
    assert str(row["obs_publisher_did"]).startswith("ivo://voserver.test/samples?")
    # access_url: the DataLink service of the server answering (not of an address
    # fixed at ingest), its ID naming this very product, and it works
    access = urllib.parse.urlsplit(str(row["access_url"]))
    assert f"{access.scheme}://{access.netloc}{access.path}" == archive["base"] + "/datalink/sync"
    assert urllib.parse.parse_qs(access.query) == {"ID": [str(row["obs_publisher_did"])]}
    links = requests.get(str(row["access_url"]), timeout=conftest.TIMEOUT)
    assert links.status_code == 200 and "#this" in links.text


POINTS = {
    "ngc3256": None,  # filled from the ALMA cube's centre
    "galactic-centre": (266.404996, -28.936172),
    "hudf": (53.16, -27.78),
    "m13": (250.423475, 36.461319),
}


@pytest.mark.parametrize("name", sorted(POINTS))
def test_point_searches_return_exactly_the_products_whose_footprint_contains_it(archive, name):
    ra, dec = POINTS[name] or centre_icrs(ALMA_CUBE)
    service = tap(archive)
    rows = service.search("SELECT obs_id FROM ivoa.obscore").to_table()
    expected = set()
    for path in sorted(FITS_DIR.rglob("*")):
        if not path.is_file() or not any(path.name.endswith(s) for s in (".fits", ".fit", ".fits.gz")):
            continue
        if path.name.split(".")[0] not in {str(i) for i in rows["obs_id"]}:
            continue
        if contains(path, ra, dec):
            expected.add(path.name.split(".")[0])

    def stems(query):
        # obs_id is the product file's name without its extensions
        return {str(i) for i in service.search(query).to_table()["obs_id"]}

    by_point = stems("SELECT obs_id FROM ivoa.obscore WHERE "
                     f"CONTAINS(POINT('ICRS', {ra}, {dec}), s_region) = 1")
    by_circle = stems("SELECT obs_id FROM ivoa.obscore WHERE "
                      f"INTERSECTS(CIRCLE('ICRS', {ra}, {dec}, 0.000001), s_region) = 1")
    assert by_point == expected
    assert by_circle == expected


def test_cone_on_centres_matches_separation(archive):
    """CONTAINS(POINT(s_ra, s_dec), CIRCLE) against separations computed here."""
    service = tap(archive)
    rows = service.search("SELECT obs_id, s_ra, s_dec FROM ivoa.obscore").to_table()
    ra0, dec0 = centre_icrs(ALMA_CUBE)
    for radius in (0.01, 1.0, 30.0):
        expected = {r["obs_id"] for r in rows
                    if r["s_ra"] is not np.ma.masked and r["s_dec"] is not np.ma.masked
                    and angular_sep_arcsec(float(r["s_ra"]), float(r["s_dec"]), ra0, dec0) <= radius * 3600}
        got = set(service.search(
            "SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), "
            f"CIRCLE('ICRS', {ra0}, {dec0}, {radius})) = 1").to_table()["obs_id"])
        assert got == expected, radius


def test_field_metadata_comes_from_tap_schema(archive):
    r = requests.get(archive["tap"] + "/sync", params={
        "REQUEST": "doQuery", "LANG": "ADQL",
        "QUERY": "SELECT TOP 1 em_min, s_region, access_estsize FROM ivoa.obscore"}, timeout=conftest.TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/x-votable+xml")
    root = ET.fromstring(r.content)
    fields = {f.get("name"): f for f in root.iterfind(".//v:FIELD", VOT_NS)}
    assert fields["em_min"].get("unit") == "m"
    assert fields["em_min"].get("ucd") == "em.wl;stat.min"
    assert fields["em_min"].get("utype") == "obscore:Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit"
    assert fields["em_min"].get("datatype") == "double"
    # ObsCore 1.1 adql:REGION, an STC-S string, as taplint's OBS stage requires.
    assert fields["s_region"].get("xtype") == "adql:REGION"
    assert fields["s_region"].get("datatype") == "char"
    assert fields["access_estsize"].get("unit") == "kbyte"
    infos = [i.get("value") for i in root.iterfind(".//v:RESOURCE/v:INFO", VOT_NS)
             if i.get("name") == "QUERY_STATUS"]
    assert infos[0] == "OK"


def test_maxrec_overflow_and_formats(archive):
    n = len(tap(archive).search("SELECT obs_id FROM ivoa.obscore").to_table())
    assert n > 3
    r = requests.post(archive["tap"] + "/sync", data={
        "request": "doQuery", "lang": "ADQL", "maxrec": "2",
        "query": "SELECT obs_id FROM ivoa.obscore ORDER BY obs_id"}, timeout=conftest.TIMEOUT)
    root = ET.fromstring(r.content)
    assert len(root.findall(".//v:TR", VOT_NS)) == 2
    statuses = [i.get("value") for i in root.iter("{http://www.ivoa.net/xml/VOTable/v1.3}INFO")
                if i.get("name") == "QUERY_STATUS"]
    assert statuses == ["OK", "OVERFLOW"]

    csv = requests.get(archive["tap"] + "/sync", params={
        "LANG": "ADQL", "RESPONSEFORMAT": "csv",
        "QUERY": "SELECT obs_id, em_xel FROM ivoa.obscore ORDER BY obs_id"}, timeout=conftest.TIMEOUT)
    assert csv.headers["Content-Type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].strip() == "obs_id,em_xel"
    assert len(lines) == n + 1
    tsv = requests.get(archive["tap"] + "/sync", params={
        "LANG": "ADQL", "RESPONSEFORMAT": "tsv", "QUERY": "SELECT TOP 3 obs_id FROM ivoa.obscore"}, timeout=conftest.TIMEOUT)
    assert tsv.headers["Content-Type"].startswith("text/tab-separated-values")
    assert len(tsv.text.strip().splitlines()) == 4


INCOMPLETE = "SELECT * FROM ivoa.obscore WHERE"


@pytest.mark.parametrize("query,needles", [
    ("SELECT nosuchcolumn FROM ivoa.obscore", ["nosuchcolumn"]),
    ("SELECT * FROM ivoa.nosuchtable", ["nosuchtable"]),
    # where the query stops: the line and column after its last character, and what is missing there
    (INCOMPLETE, ["syntax error", f"line 1, column {len(INCOMPLETE) + 1}", "end of the query"]),
    ("SELEKT * FROM ivoa.obscore", ["SELEKT"]),
])
def test_errors_are_dali_votables_naming_the_problem(archive, query, needles):
    r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": query}, timeout=conftest.TIMEOUT)
    message = conftest.dali_error(r, 400).lower()
    for needle in needles:
        assert needle.lower() in message, (needle, message)


@pytest.mark.parametrize("params,needles", [
    ({"LANG": "ADQL"}, ["missing", "QUERY"]),
    ({"LANG": "SQL99", "QUERY": "SELECT 1"}, ["LANG=SQL99", "ADQL"]),
    ({"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore", "RESPONSEFORMAT": "application/x-nonsense"},
     ["RESPONSEFORMAT=application/x-nonsense", "votable"]),
    ({"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore", "MAXREC": "many"}, ["MAXREC", "many"]),
    ({"LANG": "ADQL", "REQUEST": "getCapabilities", "QUERY": "SELECT 1"}, ["REQUEST=getCapabilities", "doQuery"]),
])
def test_bad_parameters_are_dali_errors_naming_the_parameter(archive, params, needles):
    r = requests.get(archive["tap"] + "/sync", params=params, timeout=conftest.TIMEOUT)
    message = conftest.dali_error(r, 400)
    for needle in needles:
        assert needle in message, (needle, message)


def test_case_insensitive_names_and_tap_schema(archive):
    service = tap(archive)
    a = service.search("SELECT COUNT(*) AS n FROM ivoa.ObsCore").to_table()["n"][0]
    b = service.search("select count(*) as n from IVOA.OBSCORE").to_table()["n"][0]
    assert a == b > 0
    tables = service.search("SELECT table_name FROM TAP_SCHEMA.tables").to_table()["table_name"]
    assert "ivoa.obscore" in list(tables)
    cols = service.search("SELECT column_name, unit FROM TAP_SCHEMA.columns "
                          "WHERE table_name = 'ivoa.obscore' AND column_name = 's_ra'").to_table()
    assert cols["unit"][0] == "deg"


def test_ingest_reports_skipped_files_with_reasons(archive):
    out = archive["ingest_output"]
    # A header-only product (NAXIS=0 everywhere) cannot become a row: reported, not fatal.
    line = [l for l in out.splitlines() if "MUSE.2017-06-16T01:34:56.867_IMAGE_FOV_hdronly" in l]
    assert line, out
    assert "skip" in line[0].lower()
    assert "ingested" in out.lower()
