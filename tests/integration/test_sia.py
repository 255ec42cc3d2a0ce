"""SIAv2 (SIA 2.0) at /sia2/query with real clients (pyvo's SIAService,
requests, STILTS votlint), checked against values computed with astropy from
the FITS files themselves (references.py), never from voserver's output.

Run with /usr/bin/python3 -m pytest tests/integration/test_sia.py."""
import subprocess
import tempfile
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import requests
from astropy.io import fits
from astropy.time import Time
from pyvo.dal.sia2 import SIAService

import conftest
import references
from test_soda import awav_to_wave

warnings.simplefilter("ignore")
pytestmark = pytest.mark.filterwarnings("ignore")
NS = conftest.VOTABLE_NS
MUSE = conftest.FITS_DIR / "muse" / "udf_mosaic_subcube.fits"
ALMA = conftest.FITS_DIR / "alma" / "ngc3256_alma_sv_co10_cube.fits"


def stem(path):
    """The obs_id voserver gives a file: its name without .fits / .fits.gz."""
    name = path.name
    for suffix in (".fits.gz", ".fits"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def products_containing(ra, dec):
    """obs_ids of every sample file whose pixel grid holds the ICRS point (astropy WCS)."""
    out = set()
    for p in sorted(conftest.FITS_DIR.rglob("*")):
        if p.name.endswith((".fits", ".fits.gz")) and references.contains(p, ra, dec):
            out.add(stem(p))
    return out


def sia(archive, **params):
    r = requests.get(archive["base"] + "/sia2/query", params=params, timeout=conftest.TIMEOUT)
    return r


def csv_ids(r):
    assert r.status_code == 200, r.text[:500]
    lines = r.text.strip().splitlines()
    col = lines[0].split(",").index("obs_id")
    return {line.split(",")[col] for line in lines[1:]}


def service(archive):
    return SIAService(archive["base"] + "/sia2", session=conftest.session())


def muse_band():
    """(lo, hi) vacuum wavelength (m) of the MUSE cube's outer channel edges."""
    h = fits.getheader(MUSE, 1)
    n = h["NAXIS3"]
    awav = [(h["CRVAL3"] + (p - h["CRPIX3"]) * h["CD3_3"]) * 1e-10 for p in (0.5, n + 0.5)]
    return tuple(sorted(awav_to_wave(np.array(awav))))


def test_pos_finds_exactly_the_products_whose_pixels_hold_the_point(archive):
    ra, dec = references.centre_icrs(MUSE)
    expected = products_containing(ra, dec)
    assert {"udf_mosaic_subcube", "rosat_allsky_ait"} <= expected
    got = {row["obs_id"] for row in service(archive).search(pos=(ra, dec, 1 / 3600))}
    assert got == expected
    ra, dec = references.centre_icrs(ALMA)
    assert csv_ids(sia(archive, POS=f"CIRCLE {ra} {dec} 0.0003", RESPONSEFORMAT="csv")) == products_containing(ra, dec)


def test_pyvo_search_with_pos_band_time_and_exptime_finds_the_muse_cube(archive):
    ra, dec = references.centre_icrs(MUSE)
    lo, hi = muse_band()
    h0 = fits.getheader(MUSE, 0)
    mid = h0["MJD-OBS"] + h0["EXPTIME"] / 2 / 86400
    res = service(archive).search(pos=(ra, dec, 0.001), band=(lo + 1e-9, hi - 1e-9), time=Time(mid, format="mjd"),
                                  exptime=(0, np.inf))
    assert [row["obs_id"] for row in res] == ["udf_mosaic_subcube"]
    row = res[0]
    assert row["em_min"] == pytest.approx(lo, rel=1e-6) and row["em_max"] == pytest.approx(hi, rel=1e-6)
    assert row["t_exptime"] == pytest.approx(h0["EXPTIME"])
    # outside the cube's wavelengths (but inside MUSE's range) nothing is found
    assert len(service(archive).search(pos=(ra, dec, 0.001), band=(hi + 1e-9, 9e-7))) == 0
    # an instant after the observation: nothing
    assert len(service(archive).search(pos=(ra, dec, 0.001), time=Time(mid + 1, format="mjd"))) == 0


def test_band_and_pol_select_the_alma_cube(archive):
    ra, dec = references.centre_icrs(ALMA)
    lo, hi = references.freq_axis_edges_wavelength(ALMA, 3)
    stokes = fits.getheader(ALMA)
    assert stokes["CTYPE4"] == "STOKES" and stokes["CRVAL4"] == 1  # Stokes I only
    res = service(archive).search(pos=(ra, dec, 0.01), band=((lo + hi) / 2), pol="I")
    assert [row["obs_id"] for row in res] == ["ngc3256_alma_sv_co10_cube"]
    assert len(service(archive).search(pos=(ra, dec, 0.01), pol="Q")) == 0
    # BAND alone: of all images and cubes, only the ALMA cube covers this wavelength
    assert csv_ids(sia(archive, BAND=f"{lo} {hi}", RESPONSEFORMAT="csv")) == {"ngc3256_alma_sv_co10_cube"}


def test_repeated_parameters_are_or_and_different_ones_and(archive):
    mra, mdec = references.centre_icrs(MUSE)
    ara, adec = references.centre_icrs(ALMA)
    both = [("POS", f"CIRCLE {mra} {mdec} 0.0003"), ("POS", f"CIRCLE {ara} {adec} 0.0003"), ("RESPONSEFORMAT", "csv")]
    r = requests.get(archive["base"] + "/sia2/query", params=both, timeout=conftest.TIMEOUT)
    assert csv_ids(r) == products_containing(mra, mdec) | products_containing(ara, adec)
    r = requests.get(archive["base"] + "/sia2/query", params=both + [("INSTRUMENT", "MUSE")], timeout=conftest.TIMEOUT)
    assert csv_ids(r) == {"udf_mosaic_subcube"}


def test_id_is_compared_as_an_ivoid_ignoring_case(archive):
    r = requests.get(archive["tap"] + "/sync", params={"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore WHERE "
                                                        "obs_id = 'udf_mosaic_subcube'", "RESPONSEFORMAT": "csv"},
                     timeout=conftest.TIMEOUT)
    did = r.text.strip().splitlines()[1]
    assert csv_ids(sia(archive, ID=did.upper(), RESPONSEFORMAT="csv")) == {"udf_mosaic_subcube"}
    assert csv_ids(sia(archive, ID=did + "x", RESPONSEFORMAT="csv")) == set()


def test_spectra_are_not_sia_results(archive):
    # udf10_00002_spectrum lies in the MUSE field and covers the band: a spectrum, not an image or cube
    ids = csv_ids(sia(archive, BAND="5e-7", RESPONSEFORMAT="csv"))
    assert "udf10_00002_spectrum" not in ids and "udf_mosaic_subcube" in ids


def test_maxrec_overflow_and_metadata_only(archive):
    r = sia(archive, MAXREC="2")
    root = ET.fromstring(r.content)
    assert len(root.findall(f".//{NS}TR")) == 2
    statuses = [i.get("value") for i in root.iter(NS + "INFO") if i.get("name") == "QUERY_STATUS"]
    assert "OVERFLOW" in statuses
    r = sia(archive, MAXREC="0")
    root = ET.fromstring(r.content)
    assert root.findall(f".//{NS}TR") == []
    names = [f.get("name") for f in root.iter(NS + "FIELD")]
    for column in ("obs_publisher_did", "access_url", "s_region", "em_min", "t_exptime", "pol_states"):
        assert column in names


def test_response_carries_obscore_metadata_and_both_service_descriptors(archive):
    r = sia(archive, POS="CIRCLE 53.16 -27.78 0.1")
    assert r.headers["Content-Type"].startswith("application/x-votable+xml")
    root = ET.fromstring(r.content)
    fields = {f.get("name"): f for f in root.iter(NS + "FIELD")}
    assert fields["em_min"].get("unit") == "m" and fields["s_ra"].get("ucd") == "pos.eq.ra"
    metas = {}
    for res in root.iter(NS + "RESOURCE"):
        if res.get("type") == "meta":
            params = {p.get("name"): p.get("value") for p in res.findall(NS + "PARAM")}
            metas[params.get("standardID")] = (res, params)
    # SIA 2.0 section 3.1.2: the self-description, named "this"
    res, params = metas["ivo://ivoa.net/std/SIA#query-2.0"]
    assert res.get("name") == "this" and params["accessURL"] == archive["base"] + "/sia2/query"
    inputs = {p.get("name"): p for p in res.find(NS + "GROUP").findall(NS + "PARAM")}
    assert set(inputs) >= {"POS", "BAND", "TIME", "POL", "FOV", "SPATRES", "EXPTIME", "ID", "COLLECTION", "FACILITY",
                           "INSTRUMENT", "DPTYPE", "CALIB", "TARGET", "TIMERES", "SPECRP", "FORMAT"}
    assert inputs["BAND"].get("unit") == "m" and inputs["BAND"].get("xtype") == "interval"
    # section 3.1.1: the DataLink descriptor, ID taken from obs_publisher_did
    res, params = metas["ivo://ivoa.net/std/DataLink#links-1.1"]
    assert fields["obs_publisher_did"].get("ID") == res.find(f"{NS}GROUP/{NS}PARAM").get("ref")
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        f.write(r.content)
        f.flush()
        lint = subprocess.run(["stilts", "votlint", "validate=true", f.name], capture_output=True, text=True,
                              timeout=conftest.TIMEOUT)
    assert lint.returncode == 0 and lint.stdout.strip() == "" and lint.stderr.strip() == "", lint.stdout + lint.stderr


def test_datalinks_of_an_sia_result_lead_to_the_file_and_cutouts(archive):
    ra, dec = references.centre_icrs(MUSE)
    res = service(archive).search(pos=(ra, dec, 0.001), instrument="MUSE")
    semantics = [list(dl.to_table()["semantics"]) for dl in res.iter_datalinks()]
    assert semantics == [["#this", "#preview", "#preview", "#preview-plot", "#cutout", "#cutout"]]


def test_capabilities_and_availability(archive):
    r = requests.get(archive["base"] + "/sia2/capabilities", timeout=conftest.TIMEOUT)
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    caps = {c.get("standardID"): c for c in root.iter("capability")}
    url = caps["ivo://ivoa.net/std/SIA#query-2.0"].find("interface/accessURL").text
    assert url == archive["base"] + "/sia2/query"  # absolute: pyvo builds the service from it
    r = requests.get(archive["base"] + "/sia2/availability", timeout=conftest.TIMEOUT)
    assert r.status_code == 200 and b"<vosi:available>true</vosi:available>" in r.content


@pytest.mark.parametrize("params, parameter", [
    ({"POS": "CIRCLE 10 95 1"}, "POS"),
    ({"POS": "SQUARE 1 2 3"}, "POS"),
    ({"POS": "POLYGON 1 2 3 4"}, "POS"),
    ({"BAND": "6e-7 5e-7"}, "BAND"),
    ({"BAND": "red"}, "BAND"),
    ({"TIME": "55000 56000 57000"}, "TIME"),
    ({"POL": "W"}, "POL"),
    ({"CALIB": "2.5"}, "CALIB"),
    ({"EXPTIME": "NaN 5"}, "EXPTIME"),
    ({"MAXREC": "-1"}, "MAXREC"),
    ({"RESPONSEFORMAT": "image/png"}, "RESPONSEFORMAT"),
])
def test_malformed_parameters_get_a_usage_fault_naming_them(archive, params, parameter):
    message = conftest.dali_error(sia(archive, **params), 400)
    assert message.startswith("UsageFault: ") and parameter in message, message


def test_values_are_never_sql(archive):
    # quotes and SQL in string parameters are values compared with columns
    assert csv_ids(sia(archive, TARGET="x' OR '1'='1", RESPONSEFORMAT="csv")) == set()
    assert csv_ids(sia(archive, COLLECTION="samples'--", RESPONSEFORMAT="csv")) == set()
    assert len(csv_ids(sia(archive, COLLECTION="samples", RESPONSEFORMAT="csv"))) > 20
