"""Output formats read back by astropy and checked by STILTS votlint: BINARY2
(VOTable 1.4 section 5.5) gives exactly the table TABLEDATA gives (values,
NULLs, types), sync and async, by every name a client may use for it."""
import io
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import requests
from astropy.io.votable import parse_single_table

import conftest

QUERIES = [
    "SELECT * FROM ivoa.obscore ORDER BY obs_id",
    "SELECT obs_id, POINT('ICRS', s_ra, s_dec) AS p, CIRCLE('ICRS', s_ra, s_dec, 0.1) AS c, "
    "s_region, calib_level, t_min, em_min FROM ivoa.obscore ORDER BY obs_id",
    "SELECT calib_level, COUNT(*) AS n, AVG(s_ra) AS mean_ra FROM ivoa.obscore GROUP BY calib_level",
]


def fetch(archive, query, fmt):
    r = requests.post(archive["tap"] + "/sync", data={"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt},
                      timeout=60)
    assert r.status_code == 200, r.text[:300]
    return r


def same_tables(a, b):
    assert a.colnames == b.colnames
    assert len(a) == len(b) > 0
    for name in a.colnames:
        x, y = a[name], b[name]
        assert x.dtype.kind == y.dtype.kind or {x.dtype.kind, y.dtype.kind} <= {"U", "O", "S"}, name
        mx = np.ma.getmaskarray(x)
        my = np.ma.getmaskarray(y)
        if x.dtype.kind == "O" or x.ndim > 1 or mx.ndim > 1:
            for i in range(len(a)):
                vx, vy = x[i], y[i]
                if np.ma.is_masked(vx) or np.ma.is_masked(vy):
                    assert np.ma.is_masked(vx) == np.ma.is_masked(vy) or np.size(vx) == np.size(vy) == 0, (name, i)
                    continue
                if isinstance(vx, (str, bytes)) or isinstance(vy, (str, bytes)):
                    assert vx == vy, (name, i, vx, vy)
                else:
                    assert np.allclose(np.asarray(vx, dtype=float), np.asarray(vy, dtype=float), equal_nan=True), \
                        (name, i)
            continue
        assert (mx == my).all(), name
        if x.dtype.kind in "fc":
            assert np.allclose(np.ma.filled(x, np.nan), np.ma.filled(y, np.nan), equal_nan=True, rtol=0, atol=0), name
        else:
            assert (np.ma.filled(x)[~mx] == np.ma.filled(y)[~my]).all(), name


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("fmt,element", [("votable/b2", "BINARY2"), ("votable/b", "BINARY")])
def test_binary_serializations_equal_tabledata(archive, query, fmt, element):
    td = parse_single_table(io.BytesIO(fetch(archive, query, "votable").content)).to_table()
    r = fetch(archive, query, fmt)
    assert r.headers["Content-Type"] == "application/x-votable+xml;serialization=" + element
    assert f"<{element}><STREAM encoding=\"base64\">".encode() in r.content
    b = parse_single_table(io.BytesIO(r.content)).to_table()
    same_tables(td, b)


def test_binary2_names(archive):
    q = "SELECT TOP 3 obs_id FROM ivoa.obscore ORDER BY obs_id"
    for fmt in ("votable/b2", "binary2", "application/x-votable+xml;serialization=BINARY2"):
        t = parse_single_table(io.BytesIO(fetch(archive, q, fmt).content)).to_table()
        assert len(t) == 3, fmt
    r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": q, "RESPONSEFORMAT": "votable/x"},
                     timeout=10)
    assert "RESPONSEFORMAT=votable/x" in conftest.dali_error(r, 400)
    caps = requests.get(archive["tap"] + "/capabilities", timeout=10).text
    assert "output-votable-binary2" in caps


def test_binary2_overflow_and_async(archive):
    r = fetch(archive, "SELECT obs_id FROM ivoa.obscore", "votable/b2")
    # default MAXREC is large here; ask for 2 rows
    r = requests.post(archive["tap"] + "/sync", data={"LANG": "ADQL", "QUERY": "SELECT obs_id FROM ivoa.obscore",
                                                       "RESPONSEFORMAT": "votable/b2", "MAXREC": "2"}, timeout=10)
    t = parse_single_table(io.BytesIO(r.content)).to_table()
    assert len(t) == 2
    assert b'<INFO name="QUERY_STATUS" value="OVERFLOW"/>' in r.content
    import pyvo
    job = pyvo.dal.TAPService(archive["tap"], session=conftest.session()).submit_job("SELECT TOP 4 obs_id, s_ra FROM ivoa.obscore ORDER BY obs_id",
                                                          responseformat="votable/b2")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR"], timeout=60)
    assert job.phase == "COMPLETED"
    got = requests.get(job.result_uri, timeout=10)
    assert got.headers["Content-Type"].startswith("application/x-votable+xml;serialization=BINARY2")
    assert len(parse_single_table(io.BytesIO(got.content)).to_table()) == 4
    job.delete()


@pytest.mark.parametrize("query", QUERIES[:2])
@pytest.mark.parametrize("fmt", ["votable/b2", "votable/b"])
def test_votlint_is_clean_on_binary(archive, query, fmt):
    r = fetch(archive, query, fmt)
    with tempfile.NamedTemporaryFile(suffix=".vot") as f:
        f.write(r.content)
        f.flush()
        lint = subprocess.run(["stilts", "votlint", "validate=true", f.name], capture_output=True, text=True,
                              timeout=120)
    assert lint.stdout.strip() == "" and lint.returncode == 0, lint.stdout + lint.stderr


def test_gzip_content_encoding_when_asked(archive):
    import gzip
    import urllib.parse
    import urllib.request
    q = urllib.parse.urlencode({"LANG": "ADQL", "QUERY": "SELECT * FROM ivoa.obscore", "RESPONSEFORMAT": "csv"})
    url = archive["tap"] + "/sync?" + q
    plain = urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Encoding": "identity"}), timeout=30)
    assert plain.headers.get("Content-Encoding") is None
    body = plain.read()
    zipped = urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Encoding": "gzip"}), timeout=30)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    raw = zipped.read()
    assert len(raw) < len(body)
    assert gzip.decompress(raw) == body


@pytest.mark.parametrize("query", QUERIES)
def test_fits_table_equals_tabledata(archive, query, tmp_path):
    from astropy.table import Table
    td = parse_single_table(io.BytesIO(fetch(archive, query, "votable").content)).to_table()
    r = fetch(archive, query, "fits")
    assert r.headers["Content-Type"] == "application/fits"
    path = tmp_path / "result.fits"
    path.write_bytes(r.content)
    rc = subprocess.run(["fitsverify", "-q", str(path)], capture_output=True, text=True, timeout=conftest.TIMEOUT)
    assert rc.returncode == 0 and "verification OK" in rc.stdout, rc.stdout + rc.stderr
    ft = Table.read(path, format="fits")
    assert ft.colnames == td.colnames
    assert len(ft) == len(td)
    for name in td.colnames:
        a, b = td[name], ft[name]
        for i in range(len(td)):
            va, vb = a[i], b[i]
            if np.ma.is_masked(va):
                # NULL: a masked/NaN/empty value on the FITS side
                assert (np.ma.is_masked(vb) or (isinstance(vb, (float, np.floating)) and np.isnan(vb))
                        or (isinstance(vb, (str, bytes)) and len(vb) == 0) or np.size(vb) == 0
                        or (np.ndim(vb) > 0 and np.isnan(np.asarray(vb, float)).all())), (name, i, vb)
                continue
            if isinstance(va, (str, np.str_)):
                # strings are fixed-width rA columns: astropy reads them as strings
                # (and masks the empty ones, mask_invalid=True)
                if np.ma.is_masked(vb):
                    assert va == "", (name, i, va)
                    continue
                assert isinstance(vb, (str, np.str_)), (name, i, type(vb))
                assert va == vb, (name, i)
            elif np.ndim(va) > 0:
                # a variable-length array is padded with NaN to the column's longest
                va, vb = np.asarray(va, float), np.asarray(vb, float)
                assert len(vb) >= len(va) and np.isnan(vb[len(va):]).all(), (name, i)
                assert np.allclose(va, vb[:len(va)], equal_nan=True), (name, i)
            else:
                assert float(va) == float(vb) or (np.isnan(float(va)) and np.isnan(float(vb))), (name, i, va, vb)
