"""TAP_UPLOAD (TAP 1.1 section 2.5, DALI 1.1 section 3.4.5) through the
clients that use it: pyvo's uploads= (sync and async), STILTS tapquery
upload (TOPCAT's way), a table fetched by http URL, and every kind of bad
upload, each answered with a DALI error naming the problem."""
import http.server
import io
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import pyvo
import requests
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse_single_table
from astropy.io.votable.tree import VOTableFile
from astropy.table import MaskedColumn, Table
import astropy.units as u

import conftest

VOT = "{http://www.ivoa.net/xml/VOTable/v1.3}"
UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
MATCH = ("SELECT t.name, o.obs_publisher_did, DISTANCE(POINT('ICRS', t.ra, t.dec), POINT('ICRS', o.s_ra, o.s_dec)) "
         "AS sep FROM TAP_UPLOAD.src AS t JOIN ivoa.obscore AS o "
         "ON CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', t.ra, t.dec, 0.01)) = 1 ORDER BY t.name, sep")


def products(archive):
    r = requests.get(archive["tap"] + "/sync", timeout=60, params={
        "LANG": "ADQL", "RESPONSEFORMAT": "votable",
        "QUERY": "SELECT obs_publisher_did, s_ra, s_dec FROM ivoa.obscore WHERE s_ra IS NOT NULL ORDER BY obs_id"})
    assert r.status_code == 200
    return parse_single_table(io.BytesIO(r.content)).to_table()


def sources(archive):
    """Positions 0.002 deg from 5 real products, and one far from all."""
    p = products(archive)[:5]
    names = [f"src{i}" for i in range(len(p))] + ["nowhere"]
    ra = list(np.asarray(p["s_ra"], dtype=float) + 0.002) + [1.0]
    dec = list(np.asarray(p["s_dec"], dtype=float)) + [-89.0]
    t = Table({"name": names, "ra": ra, "dec": dec})
    t["ra"].unit = u.deg
    t["dec"].unit = u.deg
    return t


def expected_matches(archive, src):
    """The (name, did) pairs within 0.01 deg, computed here with astropy."""
    p = products(archive)
    prod = SkyCoord(np.asarray(p["s_ra"], float) * u.deg, np.asarray(p["s_dec"], float) * u.deg)
    pairs = set()
    for row in src:
        sep = SkyCoord(row["ra"] * u.deg, row["dec"] * u.deg).separation(prod).deg
        for k in np.nonzero(sep <= 0.01)[0]:
            pairs.add((str(row["name"]), str(p["obs_publisher_did"][k])))
    return pairs


def votable_bytes(table, fmt="tabledata"):
    buf = io.BytesIO()
    vot = VOTableFile.from_table(table)
    vot.to_xml(buf, tabledata_format=fmt)
    return buf.getvalue()


def test_pyvo_sync_cross_match_with_an_uploaded_table(archive):
    src = sources(archive)
    want = expected_matches(archive, src)
    assert len(want) >= 5
    service = pyvo.dal.TAPService(archive["tap"], session=conftest.session())
    got = service.search(MATCH, uploads={"src": src}).to_table()
    assert {(str(n), str(d)) for n, d in zip(got["name"], got["obs_publisher_did"])} == want
    assert "nowhere" not in set(got["name"])
    assert (np.asarray(got["sep"], float) <= 0.01 + 1e-9).all()


def test_pyvo_async_with_an_upload(archive):
    src = sources(archive)
    service = pyvo.dal.TAPService(archive["tap"], session=conftest.session())
    got = service.run_async(MATCH, uploads={"src": src}).to_table()
    assert {(str(n), str(d)) for n, d in zip(got["name"], got["obs_publisher_did"])} == expected_matches(archive, src)


def post_upload(archive, query, doc, fmt="votable"):
    return requests.post(archive["tap"] + "/sync", timeout=60,
                         data={"LANG": "ADQL", "QUERY": query, "UPLOAD": "tab,param:tabfile", "RESPONSEFORMAT": fmt},
                         files={"tabfile": ("tab.xml", doc, "application/x-votable+xml")})


# BINARY2: astropy 5.2 cannot write a masked integer column as BINARY or
# BINARY2 (W31), so the BINARY2 document is voserver's own output of the
# TABLEDATA upload, sent back as an upload. BINARY is read in the unit tests.
@pytest.mark.parametrize("fmt", ["tabledata", "binary2"])
def test_uploaded_columns_keep_their_types_units_and_nulls(archive, fmt):
    t = Table()
    t["id"] = np.array([1, 2, 3], dtype=np.int64)
    t["n"] = MaskedColumn(np.array([7, 0, -5], dtype=np.int32), mask=[False, True, False])
    t["mag"] = MaskedColumn([12.5, 0.0, np.nan], mask=[False, True, False])
    t["mag"].unit = u.mag
    t["label"] = ["M 31", "caf\u00e9", "x<y&z"]
    t["ok"] = [True, False, True]
    query = "SELECT * FROM TAP_UPLOAD.tab ORDER BY id"
    doc = votable_bytes(t)
    if fmt == "binary2":
        first = post_upload(archive, query, doc, "votable/b2")
        assert first.status_code == 200 and b"<BINARY2>" in first.content, first.text[:300]
        doc = first.content
    r = post_upload(archive, query, doc)
    assert r.status_code == 200, r.text[:500]
    back = parse_single_table(io.BytesIO(r.content))
    fields = {f.name: f for f in back.fields}
    assert fields["id"].datatype == "long"
    assert fields["n"].datatype == "int"
    assert fields["mag"].datatype == "double" and str(fields["mag"].unit) == "mag"
    assert fields["ok"].datatype == "boolean"
    got = back.to_table()
    assert list(got["id"]) == [1, 2, 3]
    assert list(np.ma.getmaskarray(got["n"])) == [False, True, False]
    assert got["n"][0] == 7 and got["n"][2] == -5
    assert got["mag"][0] == 12.5 and np.ma.is_masked(got["mag"][1])
    assert [str(x) for x in got["label"]] == ["M 31", "caf\u00e9", "x<y&z"]
    assert list(got["ok"]) == [True, False, True]


def test_an_upload_is_visible_to_its_query_only(archive):
    t = Table({"a": [1, 2]})
    ok = requests.post(archive["tap"] + "/sync", timeout=60,
                       data={"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM TAP_UPLOAD.mine", "UPLOAD": "mine,param:f"},
                       files={"f": ("t.xml", votable_bytes(t), "text/xml")})
    assert ok.status_code == 200 and b"<TD>2</TD>" in ok.content
    later = requests.post(archive["tap"] + "/sync", timeout=60,
                          data={"LANG": "ADQL", "QUERY": "SELECT COUNT(*) FROM TAP_UPLOAD.mine"})
    message = conftest.dali_error(later, 400)
    assert "unknown table" in message and "TAP_UPLOAD.mine" in message, message
    # nor through TAP_SCHEMA
    ts = requests.get(archive["tap"] + "/sync", timeout=60, params={
        "LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables WHERE schema_name = 'TAP_UPLOAD'"})
    assert ts.status_code == 200 and b"<TD>0</TD>" in ts.content


def test_two_uploads_joined_with_each_other_and_obscore(archive):
    p = products(archive)[:3]
    a = Table({"did": [str(x) for x in p["obs_publisher_did"]], "k": [1, 2, 3]})
    b = Table({"k": [1, 3], "tag": ["first", "third"]})
    q = ("SELECT a.did, b.tag, o.obs_id FROM TAP_UPLOAD.a AS a JOIN TAP_UPLOAD.b AS b ON a.k = b.k "
         "JOIN ivoa.obscore AS o ON o.obs_publisher_did = a.did ORDER BY b.tag")
    r = requests.post(archive["tap"] + "/sync", timeout=60,
                      data={"LANG": "ADQL", "QUERY": q, "UPLOAD": "a,param:fa;b,param:fb"},
                      files={"fa": ("a.xml", votable_bytes(a), "text/xml"), "fb": ("b.xml", votable_bytes(b), "text/xml")})
    assert r.status_code == 200, r.text[:400]
    got = parse_single_table(io.BytesIO(r.content)).to_table()
    assert [str(x) for x in got["tag"]] == ["first", "third"]
    assert [str(x) for x in got["did"]] == [str(p["obs_publisher_did"][0]), str(p["obs_publisher_did"][2])]


@pytest.fixture
def file_server(tmp_path):
    """A plain HTTP server on loopback serving tmp_path; yields its base URL."""
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_upload_by_http_url(archive, file_server):
    directory, url = file_server
    src = sources(archive)
    (directory / "src.xml").write_bytes(votable_bytes(src, "binary2"))
    r = requests.post(archive["tap"] + "/sync", timeout=60,
                      data={"LANG": "ADQL", "QUERY": MATCH, "UPLOAD": f"src,{url}/src.xml"})
    assert r.status_code == 200, r.text[:400]
    got = parse_single_table(io.BytesIO(r.content)).to_table()
    assert {(str(n), str(d)) for n, d in zip(got["name"], got["obs_publisher_did"])} == expected_matches(archive, src)
    missing = requests.post(archive["tap"] + "/sync", timeout=60,
                            data={"LANG": "ADQL", "QUERY": MATCH, "UPLOAD": f"src,{url}/absent.xml"})
    assert missing.status_code == 400
    assert b"answered HTTP 404" in missing.content


def test_stilts_tapquery_with_an_upload(archive, tmp_path):
    src = sources(archive)
    path = tmp_path / "src.vot"
    path.write_bytes(votable_bytes(src))
    out = tmp_path / "out.vot"
    run = subprocess.run(["stilts", "tapquery", f"tapurl={archive['tap']}", f"adql={MATCH}", "sync=false",
                          "nupload=1", f"upload1={path}", "upname1=src", f"out={out}", "ofmt=votable"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    got = parse_single_table(str(out)).to_table()
    assert {(str(n), str(d)) for n, d in zip(got["name"], got["obs_publisher_did"])} == expected_matches(archive, src)


def error_text(r):
    info = ET.fromstring(r.content).find(f".//{VOT}INFO[@name='QUERY_STATUS']")
    assert info is not None and info.get("value") == "ERROR", r.text[:300]
    return info.text or ""


GOOD = b'<VOTABLE><RESOURCE><TABLE><FIELD name="a" datatype="int"/><DATA><TABLEDATA><TR><TD>1</TD></TR>' \
       b'</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>'


@pytest.mark.parametrize("upload,content,needle", [
    ("t,param:f", b"ra,dec\n1,2\n", "not well-formed XML"),
    ("t,param:f", GOOD[: len(GOOD) // 2], "truncated"),
    ("t,param:f", b"<html><body>hello</body></html>", "root element is <html>"),
    ("t,param:f", GOOD.replace(b"<TD>1</TD>", b"<TD>x</TD>"), "\"x\" is not a int"),
    ("t,param:other", GOOD, "no part named \"other\""),
    ("select,param:f", GOOD, "not an ADQL regular identifier"),
    ("t", GOOD, "is not \"name,URI\""),
    ("t,param:f;t,param:f", GOOD, "twice"),
    ("t,https://example.org/t.xml", GOOD, "https"),
    ("t,file:///etc/passwd", GOOD, "param:<part>"),
    ("t,http://127.0.0.1:9/t.xml", GOOD, "cannot fetch the upload URL"),
])
def test_bad_uploads_are_dali_errors(archive, upload, content, needle):
    r = requests.post(archive["tap"] + "/sync", timeout=60,
                      data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": upload},
                      files={"f": ("t.xml", content, "text/xml")})
    assert r.status_code == 400, r.text[:300]
    assert needle in error_text(r)
    # the server still answers
    assert requests.get(archive["tap"] + "/availability", timeout=10).status_code == 200


def test_too_many_upload_rows_is_refused(archive):
    rows = "".join(f"<TR><TD>{i}</TD></TR>" for i in range(100001))
    doc = ('<VOTABLE><RESOURCE><TABLE><FIELD name="a" datatype="int"/><DATA><TABLEDATA>' + rows +
           "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>").encode()
    r = requests.post(archive["tap"] + "/sync", timeout=120,
                      data={"LANG": "ADQL", "QUERY": "SELECT COUNT(*) FROM TAP_UPLOAD.t", "UPLOAD": "t,param:f"},
                      files={"f": ("t.xml", doc, "text/xml")})
    assert r.status_code == 400
    assert "more than 100000 rows" in error_text(r)


def test_a_bad_async_upload_ends_the_job_in_error(archive):
    r = requests.post(archive["tap"] + "/async", timeout=30, allow_redirects=False,
                      data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t,param:f", "PHASE": "RUN"},
                      files={"f": ("t.xml", b"not xml at all", "text/xml")})
    assert r.status_code == 303
    job = r.headers["Location"]
    for _ in range(60):
        doc = ET.fromstring(requests.get(job, params={"WAIT": 5}, timeout=30).content)
        if doc.find(UWS + "phase").text not in ("PENDING", "QUEUED", "EXECUTING"):
            break
    assert doc.find(UWS + "phase").text == "ERROR"
    err = requests.get(job + "/error", timeout=30)
    assert err.status_code == 200
    assert "not well-formed XML" in error_text(err)
    assert requests.delete(job, timeout=30, allow_redirects=False).status_code == 303


def test_capabilities_declare_upload_methods_and_limits(archive):
    cap = requests.get(archive["tap"] + "/capabilities", timeout=30).text
    assert 'uploadMethod ivo-id="ivo://ivoa.net/std/TAPRegExt#upload-inline"' in cap
    assert 'uploadMethod ivo-id="ivo://ivoa.net/std/TAPRegExt#upload-http"' in cap
    assert '<uploadLimit>' in cap and 'unit="byte"' in cap
