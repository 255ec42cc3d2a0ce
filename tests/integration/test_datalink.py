"""DataLink 1.1 {links} at /datalink/sync and product downloads at
/datalink/file, with real clients (stilts datalinklint, pyvo, requests),
checked against the original files and astropy slicing.

Run with /usr/bin/python3 -m pytest tests/integration/test_datalink.py; the
`archive` fixture (conftest.py) serves a store built from ../shared/data/fits.
"""
import hashlib
import json
import os
import subprocess
import urllib.parse
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from astropy.io import fits

import conftest
from test_soda import band_channels, circle_pixel_box, same_values

if os.environ.get("VOSERVER"):
    conftest.VOSERVER = Path(os.environ["VOSERVER"]).resolve()

warnings.simplefilter("ignore")
pytestmark = pytest.mark.filterwarnings("ignore")
MUSE = conftest.FITS_DIR / "muse" / "udf_mosaic_subcube.fits"
NS = conftest.VOTABLE_NS
DATALINK_MIME = "application/x-votable+xml;content=datalink"
COLUMNS = ["ID", "access_url", "service_def", "error_message", "semantics", "description", "content_type",
           "content_length", "content_qualifier", "local_semantics", "link_auth", "link_authorized"]


def tap_rows(archive, adql):
    r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": "csv"},
                     timeout=conftest.TIMEOUT)
    assert r.status_code == 200, r.text
    return [line.split(",") for line in r.text.strip().splitlines()[1:]]


def did_of(archive, obs_id):
    rows = tap_rows(archive, f"SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_id = '{obs_id}'")
    assert len(rows) == 1, rows
    return rows[0][0]


def image_did(archive):
    rows = tap_rows(archive, "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_id = 'wfpc2_hdfs_f606w'")
    assert len(rows) == 1, rows
    return rows[0][0]


def links(archive, ids, method="GET", **extra):
    """(response, rows as dicts, root element) of a {links} request."""
    url = archive["base"] + "/datalink/sync"
    if method == "GET":
        r = requests.get(url, params={"ID": ids, **extra}, timeout=conftest.TIMEOUT)
    elif method == "POST":
        r = requests.post(url, data={"ID": ids, **extra}, timeout=conftest.TIMEOUT)
    else:  # multipart
        files = [("ID", (None, i)) for i in ids]
        r = requests.post(url, files=files, timeout=conftest.TIMEOUT)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"] == DATALINK_MIME
    root = ET.fromstring(r.content)
    results = [res for res in root.iter(NS + "RESOURCE") if res.get("type") == "results"]
    assert len(results) == 1
    names = [f.get("name") for f in results[0].iter(NS + "FIELD")]
    assert names == COLUMNS
    rows = [dict(zip(names, [td.text for td in tr.findall(NS + "TD")])) for tr in results[0].iter(NS + "TR")]
    for row in rows:  # DataLink 1.1 section 3.2: exactly one of the three
        assert sum(bool(row[c]) for c in ("access_url", "service_def", "error_message")) == 1, row
    return r, rows, root


def descriptor(root, xml_id):
    for res in root.iter(NS + "RESOURCE"):
        if res.get("ID") == xml_id:
            assert res.get("type") == "meta" and res.get("utype") == "adhoc:service"
            return res
    raise AssertionError("no descriptor " + xml_id)


def params_of(res):
    out = {p.get("name"): p for p in res.findall(NS + "PARAM")}
    for g in res.findall(NS + "GROUP"):
        assert g.get("name") == "inputParams"
        out.update({"in:" + p.get("name"): p for p in g.findall(NS + "PARAM")})
    return out


# ---------------------------------------------------------------- validators

@pytest.mark.parametrize("which", ["cube", "image", "unknown"])
def test_datalinklint_has_no_errors_or_warnings(archive, which):
    did = {"cube": lambda: did_of(archive, "udf_mosaic_subcube"), "image": lambda: image_did(archive),
           "unknown": lambda: "ivo://voserver.test/samples?no-such-dataset"}[which]()
    url = archive["base"] + "/datalink/sync?ID=" + urllib.parse.quote(did, safe="")
    run = subprocess.run(["stilts", "datalinklint", "format=json", "report=EWF", "votable=" + url],
                         stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=conftest.TIMEOUT)
    assert run.returncode == 0, run.stdout + run.stderr
    reports = json.loads(run.stdout)
    bad = [m for m in reports if m.get("level") in ("ERROR", "WARNING", "FAILURE")] if isinstance(reports, list) else \
        [m for m in reports.get("messages", reports.get("reports", [])) if m.get("level") in ("ERROR", "WARNING", "FAILURE")]
    assert bad == [], run.stdout[:3000]


def test_vosi_resources(archive):
    r = requests.get(archive["base"] + "/datalink/capabilities", timeout=conftest.TIMEOUT)
    assert r.status_code == 200 and "ivo://ivoa.net/std/DataLink#links-1.1" in r.text
    assert archive["base"] + "/datalink/sync" in r.text
    r = requests.get(archive["base"] + "/datalink/availability", timeout=conftest.TIMEOUT)
    assert r.status_code == 200 and "<vosi:available>true</vosi:available>" in r.text


# ---------------------------------------------------------------- links

def test_cube_links_carry_the_file_and_its_bounds(archive):
    did = did_of(archive, "udf_mosaic_subcube")
    r, rows, root = links(archive, did)
    infos = [i for i in root.iter(NS + "INFO") if i.get("name") == "standardID"]
    assert [i.get("value") for i in infos] == ["ivo://ivoa.net/std/DataLink#links-1.1"]
    assert {row["ID"] for row in rows} == {did}
    this = [row for row in rows if row["semantics"] == "#this"]
    assert len(this) == 1
    assert int(this[0]["content_length"]) == MUSE.stat().st_size
    assert this[0]["content_type"] == "application/fits"
    assert this[0]["access_url"] == archive["base"] + "/datalink/file?ID=" + urllib.parse.quote(did, safe="")
    cut = {row["service_def"] for row in rows if row["semantics"] == "#cutout"}
    assert len(cut) == 2
    standard = {}
    for xml_id in cut:
        p = params_of(descriptor(root, xml_id))
        standard[p["standardID"].get("value")] = p["accessURL"].get("value")
        assert p["in:ID"].get("value") == did
        band = p["in:BAND"].find(NS + "VALUES")
        lo, hi = float(band.find(NS + "MIN").get("value")), float(band.find(NS + "MAX").get("value"))
        with fits.open(MUSE) as h:
            hdr = h["DATA"].header
            # the cube's vacuum wavelength edges (test_soda.band_channels' conversion)
            from test_soda import awav_to_wave
            from astropy.wcs import WCS
            edges = WCS(hdr).spectral.all_pix2world([0.5, hdr["NAXIS3"] + 0.5], 1)[0]
            vac = sorted(awav_to_wave(edges))
        assert abs(lo - vac[0]) < 1e-12 and abs(hi - vac[1]) < 1e-12, (lo, hi, vac)
        poly = [float(v) for v in p["in:POLYGON"].find(NS + "VALUES").find(NS + "MAX").get("value").split()]
        assert len(poly) == 8 and all(53.1 < a < 53.25 for a in poly[0::2]) and all(-27.85 < d < -27.75 for d in poly[1::2])
        assert p["in:CIRCLE"].get("xtype") == "circle"
    assert standard == {"ivo://ivoa.net/std/SODA#sync-1.0": archive["base"] + "/soda/sync",
                        "ivo://ivoa.net/std/SODA#async-1.0": archive["base"] + "/soda/async"}


def test_unknown_malformed_and_no_id(archive):
    _, rows, _ = links(archive, "ivo://voserver.test/samples?nothing")
    assert len(rows) == 1 and rows[0]["error_message"].startswith("NotFoundFault: ")
    assert rows[0]["semantics"] == "#this" and rows[0]["ID"] == "ivo://voserver.test/samples?nothing"
    _, rows, _ = links(archive, "not a DID")
    assert len(rows) == 1 and rows[0]["error_message"].startswith("UsageFault: ")
    r = requests.get(archive["base"] + "/datalink/sync", timeout=conftest.TIMEOUT)
    assert r.status_code == 200 and "<TR>" not in r.text and "<TABLEDATA>" in r.text
    msg = conftest.dali_error(requests.get(archive["base"] + "/datalink/sync",
                                           params={"ID": "x", "RESPONSEFORMAT": "text/csv"}, timeout=conftest.TIMEOUT))
    assert "RESPONSEFORMAT" in msg and "text/csv" in msg
    _, rows, _ = links(archive, image_did(archive), RESPONSEFORMAT="application/x-votable+xml")
    assert rows


@pytest.mark.parametrize("method", ["POST", "multipart"])
def test_many_ids_keep_each_ids_rows_together(archive, method):
    cube, image = did_of(archive, "udf_mosaic_subcube"), image_did(archive)
    unknown = "ivo://voserver.test/samples?missing"
    ids = [cube, unknown, image, cube]
    _, rows, root = links(archive, ids, method=method)
    order = [row["ID"] for row in rows]
    groups = [i for k, i in enumerate(order) if k == 0 or order[k - 1] != i]
    assert groups == [cube, unknown, image], order  # consecutive, in order, each once
    assert [row["error_message"] is not None for row in rows if row["ID"] == unknown] == [True]
    for row in rows:  # every referenced descriptor exists and names this row's ID
        if row["service_def"]:
            assert params_of(descriptor(root, row["service_def"]))["in:ID"].get("value") == row["ID"]


# ---------------------------------------------------------------- downloads

def test_download_headers_head_ranges_and_416(archive):
    did = did_of(archive, "udf_mosaic_subcube")
    url = archive["base"] + "/datalink/file?ID=" + urllib.parse.quote(did, safe="")
    original = MUSE.read_bytes()
    size = len(original)
    head = requests.head(url, timeout=conftest.TIMEOUT)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == size
    assert head.headers["Content-Type"] == "application/fits"
    assert head.headers["Content-Disposition"] == "attachment; filename=udf_mosaic_subcube.fits"
    assert head.headers["Accept-Ranges"] == "bytes"
    assert head.headers["ETag"].startswith('"') and head.headers["Last-Modified"].endswith(" GMT")
    half = size // 2
    a = requests.get(url, headers={"Range": f"bytes=0-{half - 1}"}, timeout=conftest.TIMEOUT)
    b = requests.get(url, headers={"Range": f"bytes={half}-"}, timeout=conftest.TIMEOUT)
    assert a.status_code == 206 and b.status_code == 206
    assert a.headers["Content-Range"] == f"bytes 0-{half - 1}/{size}"
    assert b.headers["Content-Range"] == f"bytes {half}-{size - 1}/{size}"
    assert hashlib.sha256(a.content + b.content).digest() == hashlib.sha256(original).digest()
    whole = requests.get(url, timeout=conftest.TIMEOUT)
    assert whole.status_code == 200 and whole.content == original
    beyond = requests.get(url, headers={"Range": f"bytes={size}-"}, timeout=conftest.TIMEOUT)
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    stale = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'}, timeout=conftest.TIMEOUT)
    assert stale.status_code == 200 and len(stale.content) == size
    fresh = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": head.headers["ETag"]}, timeout=conftest.TIMEOUT)
    assert fresh.status_code == 206 and fresh.content == original[:10]


def test_download_of_unknown_id_is_a_404_dali_error(archive):
    r = requests.get(archive["base"] + "/datalink/file", params={"ID": "ivo://voserver.test/samples?nothing"},
                     timeout=conftest.TIMEOUT)
    assert conftest.dali_error(r, 404).startswith("NotFoundFault: ")
    r = requests.get(archive["base"] + "/datalink/file", params={"ID": "../../etc/passwd"}, timeout=conftest.TIMEOUT)
    assert conftest.dali_error(r, 404).startswith("NotFoundFault: ")
    r = requests.post(archive["base"] + "/datalink/file", data={"ID": "x"}, timeout=conftest.TIMEOUT)
    assert r.status_code == 405


# ---------------------------------------------------------------- pyvo

@pytest.fixture
def timed_pyvo(monkeypatch):
    """pyvo 1.2.1 builds the queries of iter_datalinks() and processed()
    without the caller's session; give those a session with TIMEOUT too."""
    import pyvo.dal.query
    monkeypatch.setattr(pyvo.dal.query, "use_session", lambda s=None: s or conftest.session())


def test_pyvo_iter_datalinks_on_a_tap_result(archive, timed_pyvo):
    import pyvo
    tap = pyvo.dal.TAPService(archive["tap"], session=conftest.session())
    result = tap.search("SELECT TOP 5 * FROM ivoa.obscore WHERE dataproduct_type = 'cube' ORDER BY obs_id")
    assert len(result) >= 2
    seen = 0
    for row, dl in zip(result, result.iter_datalinks()):
        assert isinstance(dl, pyvo.dal.adhoc.DatalinkResults)
        sem = [r.semantics for r in dl]
        assert "#this" in sem, sem
        ids = {str(r["ID"]) for r in dl}
        assert ids == {str(row["obs_publisher_did"])}
        if "#cutout" in sem:
            seen += 1
    assert seen >= 1


def test_pyvo_processed_cutout_matches_astropy(archive, timed_pyvo):
    from astropy import units as u
    from pyvo.dal.adhoc import DatalinkResults
    did = did_of(archive, "udf_mosaic_subcube")
    dl = DatalinkResults.from_result_url(archive["base"] + "/datalink/sync?ID=" + urllib.parse.quote(did, safe=""),
                                         session=conftest.session())
    cut_rows = list(dl.bysemantics("#cutout", include_narrower=False))  # no vocabulary download
    assert len(cut_rows) == 2
    services = [dl.get_adhocservice_by_id(r["service_def"]) for r in cut_rows]
    standard = sorted(str(p.value) for s in services for p in s.params if p.name == "standardID")
    assert standard == ["ivo://ivoa.net/std/SODA#async-1.0", "ivo://ivoa.net/std/SODA#sync-1.0"]
    ra, dec, radius = 53.1752, -27.8078, 0.0003  # the request of test_soda's MUSE test
    band = (5.0e-7, 5.01e-7)
    stream = cut_rows[0].processed(circle=(ra * u.deg, dec * u.deg, radius * u.deg),
                                   band=(band[0] * u.m, band[1] * u.m), session=conftest.session())
    data = stream.read()
    with fits.open(MUSE) as orig:
        cut = fits.HDUList.fromstring(data)
        h = orig["DATA"].header
        x0, x1, y0, y1 = circle_pixel_box(h, ra, dec, radius)
        z0, z1 = band_channels(h, *band)
        for name in ("DATA", "STAT"):
            assert same_values(cut[name].data, orig[name].data[z0 - 1:z1, y0 - 1:y1, x0 - 1:x1]), name


def test_tap_results_carry_the_datalink_descriptor_in_votable_only(archive):
    q = "SELECT TOP 2 obs_id, obs_publisher_did FROM ivoa.obscore ORDER BY obs_id"
    for fmt in ("votable", "votable/b2"):
        r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": q, "RESPONSEFORMAT": fmt},
                         timeout=conftest.TIMEOUT)
        assert r.status_code == 200, r.text
        root = ET.fromstring(r.content)
        field = [f for f in root.iter(NS + "FIELD") if f.get("name") == "obs_publisher_did"]
        assert len(field) == 1 and field[0].get("ID")
        meta = [res for res in root.findall(NS + "RESOURCE") if res.get("utype") == "adhoc:service"]
        assert len(meta) == 1 and meta[0].get("type") == "meta"
        p = params_of(meta[0])
        assert p["standardID"].get("value") == "ivo://ivoa.net/std/DataLink#links-1.1"
        assert p["accessURL"].get("value") == archive["base"] + "/datalink/sync"
        assert p["in:ID"].get("ref") == field[0].get("ID") and p["in:ID"].get("value") == ""
    r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": q, "RESPONSEFORMAT": "csv"},
                     timeout=conftest.TIMEOUT)
    assert r.status_code == 200 and "adhoc" not in r.text and "RESOURCE" not in r.text
    r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"},
                     timeout=conftest.TIMEOUT)
    assert r.status_code == 200 and "adhoc:service" not in r.text


def test_more_ids_than_the_limit_overflow_after_whole_ids(archive, tmp_path):
    """[limits] max_datalink_ids = 2 on a second server over the same store
    (its own job store and results): 3 IDs -> the first 2 answered whole,
    then the DALI OVERFLOW INFO (DataLink 1.1 section 2.1.1)."""
    text = archive["config"].read_text()
    text = text.replace("[limits]\n", "[limits]\nmax_datalink_ids = 2\n", 1)
    text = text.replace("[archive]\n", f"[archive]\njobs_database = \"{tmp_path / 'jobs.sqlite'}\"\n"
                                       f"results_dir = \"{tmp_path / 'results'}\"\n", 1)
    cfg = tmp_path / "voserver.toml"
    cfg.write_text(text)
    cube, image = did_of(archive, "udf_mosaic_subcube"), image_did(archive)
    with conftest.running_server(cfg, tmp_path) as base:
        _, rows, root = links({"base": base}, [cube, image, "ivo://voserver.test/samples?third"], method="POST")
    assert [r["ID"] for r in rows if r["semantics"] == "#this"] == [cube, image]
    assert len([r for r in rows if r["ID"] == cube]) == 6  # #this + 3 previews + 2 #cutout, not cut
    results = [res for res in root.iter(NS + "RESOURCE") if res.get("type") == "results"][0]
    status = [i.get("value") for i in results.findall(NS + "INFO") if i.get("name") == "QUERY_STATUS"]
    assert status == ["OK", "OVERFLOW"]


# ---------------------------------------------------------------- configured related files

def test_configured_files_next_to_a_product_are_linked_and_downloadable(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    product = data / "wfpc2_hdfs_f606w.fits"
    product.write_bytes((conftest.FITS_DIR / "hst" / "wfpc2_hdfs_f606w.fits").read_bytes())
    (data / "wfpc2_hdfs_f606w_weights.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    (data / "README.txt").write_text("How these images were reduced.\n")
    cfg = conftest.write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace(str(conftest.FITS_DIR), str(data)) + """
[[collection.link]]
semantics = "#auxiliary"
pattern = "{stem}_weights.fits"
description = "Weight map"

[[collection.link]]
semantics = "#documentation"
pattern = "README.txt"
content_type = "text/plain"

[[collection.link]]
semantics = "#calibration"
pattern = "{stem}_flat.fits"
""")
    done = conftest.ingest(cfg, data, "samples")
    assert done.returncode == 0, done.stdout + done.stderr
    with conftest.running_server(cfg, tmp_path) as base:
        arch = {"base": base, "tap": base + "/tap"}
        did = did_of(arch, "wfpc2_hdfs_f606w")
        _, rows, _ = links(arch, did)
        related = {r["semantics"]: r for r in rows if r["semantics"] in ("#auxiliary", "#documentation", "#calibration")}
        assert set(related) == {"#auxiliary", "#documentation"}  # no _flat.fits next to it: no row
        aux = related["#auxiliary"]
        assert aux["description"] == "Weight map (wfpc2_hdfs_f606w_weights.fits)"
        assert aux["content_type"] == "application/fits" and int(aux["content_length"]) == 2880
        r = requests.get(aux["access_url"], timeout=conftest.TIMEOUT)
        assert r.status_code == 200 and r.content == (data / "wfpc2_hdfs_f606w_weights.fits").read_bytes()
        assert r.headers["Content-Disposition"] == "attachment; filename=wfpc2_hdfs_f606w_weights.fits"
        doc = requests.get(related["#documentation"]["access_url"], timeout=conftest.TIMEOUT)
        assert doc.text == "How these images were reduced.\n" and doc.headers["Content-Type"].startswith("text/plain")
        # file numbers are the configuration's; one without a file is 404, a bad one 400
        missing = requests.get(base + "/datalink/file", params={"ID": did, "FILE": "3"}, timeout=conftest.TIMEOUT)
        assert "no file number 3" in conftest.dali_error(missing, 404)
        bad = requests.get(base + "/datalink/file", params={"ID": did, "FILE": "../x"}, timeout=conftest.TIMEOUT)
        assert "FILE" in conftest.dali_error(bad, 400)
        run = subprocess.run(["stilts", "datalinklint", "format=json", "report=EWF",
                              "votable=" + base + "/datalink/sync?ID=" + urllib.parse.quote(did, safe="")],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=conftest.TIMEOUT)
        assert run.returncode == 0, run.stdout + run.stderr
        # STILTS 3.4.7 carries a copy of the core vocabulary older than its term
        # "documentation" (http://www.ivoa.net/rdf/datalink/core#documentation, used by ALMA):
        # that one message is expected, nothing else
        bad = [m for m in json.loads(run.stdout)["sections"] if m.get("level") in ("ERROR", "WARNING", "FAILURE")]
        assert [m["text"] for m in bad if "'documentation'" not in m["text"]] == [], run.stdout[:2000]
    # a pattern that leaves the product's directory is refused at start-up
    cfg.write_text(cfg.read_text().replace('pattern = "README.txt"', 'pattern = "../README.txt"'))
    done = conftest.ingest(cfg, data, "samples")
    assert done.returncode != 0 and "pattern" in done.stderr
