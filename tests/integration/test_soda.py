"""SODA 1.0 {sync} through HTTP with real clients (requests, curl-style GET),
checked against independent astropy computations.

Run with /usr/bin/python3 -m pytest tests/integration/test_soda.py. The
`archive` fixture (conftest.py) serves a store built from ../shared/data/fits;
the demo test builds its own small PHANGS-MUSE demo archive. VOSERVER=path
selects another voserver binary than build/voserver (e.g. a developer's own
build directory).
"""
import math
import os
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import requests
from astropy.io import fits
from astropy.wcs import WCS

import conftest

if os.environ.get("VOSERVER"):
    conftest.VOSERVER = Path(os.environ["VOSERVER"]).resolve()

warnings.simplefilter("ignore")
pytestmark = pytest.mark.filterwarnings("ignore")
MUSE = conftest.FITS_DIR / "muse" / "udf_mosaic_subcube.fits"
ALMA = conftest.FITS_DIR / "alma" / "ngc3256_alma_sv_co10_cube.fits"


# ---------------------------------------------------------------- helpers

def tap_csv(tap, adql):
    r = requests.get(tap + "/sync", params={"LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": "csv"}, timeout=30)
    assert r.status_code == 200, r.text
    lines = r.text.strip().splitlines()
    return [line.split(",") for line in lines[1:]]


def publisher_did(tap, obs_id):
    rows = tap_csv(tap, f"SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_id = '{obs_id}'")
    assert len(rows) == 1, rows
    return rows[0][0]


def circle_boundary(ra, dec, radius, n=20001):
    """Densely sampled small circle (ICRS degrees), spherical trigonometry."""
    t = np.linspace(0, 2 * np.pi, n)
    d, a0, b0 = map(math.radians, (radius, ra, dec))
    lat = np.arcsin(np.sin(b0) * np.cos(d) + np.cos(b0) * np.sin(d) * np.cos(t))
    lon = a0 + np.arctan2(np.sin(t) * np.sin(d) * np.cos(b0), np.cos(d) - np.sin(b0) * np.sin(lat))
    return np.degrees(lon) % 360, np.degrees(lat)


def circle_pixel_box(header, ra, dec, radius):
    """1-based inclusive (x0, x1, y0, y1) of the smallest pixel box holding the
    circle, for a circle inside the image: boundary -> all_world2pix ->
    floor(p + 0.5) (pixel i covers [i-0.5, i+0.5)), clipped to the data."""
    w = WCS(header).celestial
    lon, lat = circle_boundary(ra, dec, radius)
    px, py = w.all_world2pix(lon, lat, 1)
    nx, ny = header["NAXIS1"], header["NAXIS2"]
    f = lambda q: int(math.floor(q + 0.5))
    return max(1, f(px.min())), min(nx, f(px.max())), max(1, f(py.min())), min(ny, f(py.max()))


def awav_to_wave(awav):
    """Air -> vacuum wavelength (m) as WCSLIB's awavwave() does it: the
    Cox (2000) / Edlen (1953) refractive index, iterated 4 times."""
    n = 1.0
    for _ in range(4):
        s = (n / awav) ** 2
        n = 2.554e8 / (0.41e14 - s) + 294.981e8 / (1.46e14 - s) + 1.000064328
    return awav * n


def band_channels(header, lo, hi):
    """1-based inclusive channel range whose vacuum-wavelength extent
    [edge k-0.5, edge k+0.5) meets [lo, hi] (m), for an AWAV axis 3."""
    w = WCS(header).spectral
    edges = np.arange(header["NAXIS3"] + 1) + 0.5
    vac = awav_to_wave(w.all_pix2world(edges, 1)[0])
    a, b = np.minimum(vac[:-1], vac[1:]), np.maximum(vac[:-1], vac[1:])
    k = np.nonzero((a <= hi) & (b > lo))[0]
    return int(k[0]) + 1, int(k[-1]) + 1


def same_values(a, b):
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def fitsverify(path):
    r = subprocess.run(["fitsverify", "-q", "-e", str(path)], capture_output=True, text=True, timeout=conftest.TIMEOUT)
    return r.returncode, r.stdout + r.stderr


def checksums_valid(hdul):
    return all(h.verify_checksum() == 1 and h.verify_datasum() == 1 for h in hdul)


def get_cut(base, params, path=None):
    r = requests.get(base + "/soda/sync", params=params, timeout=60)
    if path is not None and r.status_code == 200:
        Path(path).write_bytes(r.content)
    return r


# ---------------------------------------------------------------- the real MUSE UDF cube

def test_muse_circle_band_cutout_matches_astropy(archive, tmp_path):
    did = publisher_did(archive["tap"], "udf_mosaic_subcube")
    ra, dec, radius = 53.1752, -27.8078, 0.0003  # about 1 arcsec, inside the 6 arcsec field
    band = (5.0e-7, 5.01e-7)                     # vacuum metres, around 500.5 nm
    out = tmp_path / "muse_cut.fits"
    r = get_cut(archive["base"], {"ID": did, "CIRCLE": f"{ra} {dec} {radius}",
                                  "BAND": f"{band[0]} {band[1]}"}, out)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/fits"
    assert "chunked" not in r.headers.get("Transfer-Encoding", "")
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert r.headers["Content-Disposition"].startswith("attachment; filename=udf_mosaic_subcube")

    rc, text = fitsverify(out)
    assert rc == 0, text

    with fits.open(MUSE) as orig, fits.open(out, checksum=True) as cut:
        assert checksums_valid(cut)
        assert [h.name for h in cut] == ["PRIMARY", "DATA", "STAT"]
        h = orig["DATA"].header
        x0, x1, y0, y1 = circle_pixel_box(h, ra, dec, radius)
        z0, z1 = band_channels(h, *band)
        assert (x0, x1, y0, y1, z0, z1) == (12, 22, 11, 21, 200, 208)  # the same values, written down
        for name in ("DATA", "STAT"):
            expected = orig[name].data[z0 - 1:z1, y0 - 1:y1, x0 - 1:x1]
            assert same_values(cut[name].data, expected), name
            # world coordinates of the output's first pixel = the original's
            # at the same pixel (the cut header's CRPIX shift).
            wc, wo = WCS(cut[name].header), WCS(orig[name].header)
            a = wc.all_pix2world([[1, 1, 1]], 1)[0]
            b = wo.all_pix2world([[x0, y0, z0]], 1)[0]
            assert abs(a[0] - b[0]) < 1e-9 and abs(a[1] - b[1]) < 1e-9
            assert abs(a[2] - b[2]) <= 1e-9 * abs(b[2])
        for key in ("ORIGIN", "TELESCOP", "INSTRUME", "OBJECT", "MJD-OBS"):  # primary header kept
            assert cut[0].header[key] == orig[0].header[key], key


def vm_hwm_mb(pid):
    """The peak resident set (VmHWM) of process `pid`, in MB (2^20 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


def test_server_peak_memory_stays_under_64_mb(archive):
    """Issue 4/14: a server's peak memory stays under 64 MB through start-up and
    cutouts. Regression: the authenticator hashed a dummy password with
    argon2id (64 MiB) at start-up, so every server peaked at 84 MB before its
    first request, whether or not anyone logs in with a password."""
    work = archive["work"]
    proc, base = conftest.start_server(archive["config"], work, "memory.log")
    try:
        assert vm_hwm_mb(proc.pid) < 64
        did = publisher_did(archive["tap"], "udf_mosaic_subcube")
        r = get_cut(base, {"ID": did, "CIRCLE": "53.1752 -27.8078 0.0003", "BAND": "5.0e-7 5.01e-7"})
        assert r.status_code == 200, r.text
        assert vm_hwm_mb(proc.pid) < 64
    finally:
        conftest.stop_server(proc)


def test_muse_post_lower_case_names(archive):
    did = publisher_did(archive["tap"], "udf_mosaic_subcube")
    r = requests.post(archive["base"] + "/soda/sync",
                      data={"id": did, "circle": "53.1752 -27.8078 0.0003"}, timeout=60)
    assert r.status_code == 200, r.text
    assert int(r.headers["Content-Length"]) == len(r.content)
    with fits.open(MUSE) as orig:
        x0, x1, y0, y1 = circle_pixel_box(orig["DATA"].header, 53.1752, -27.8078, 0.0003)
        cut = fits.HDUList.fromstring(r.content)
        assert same_values(cut["STAT"].data, orig["STAT"].data[:, y0 - 1:y1, x0 - 1:x1])


# ---------------------------------------------------------------- ALMA: POL on a STOKES axis

def test_alma_pol_cutout(archive, tmp_path):
    did = publisher_did(archive["tap"], "ngc3256_alma_sv_co10_cube")
    ra, dec, radius = 156.9635, -43.9042, 0.002  # near the reference pixel, SIN projection
    out = tmp_path / "alma_cut.fits"
    r = get_cut(archive["base"], {"ID": did, "POL": "I", "CIRCLE": f"{ra} {dec} {radius}"}, out)
    assert r.status_code == 200, r.text
    assert int(r.headers["Content-Length"]) == len(r.content)
    rc, text = fitsverify(out)
    assert rc == 0, text
    with fits.open(ALMA) as orig, fits.open(out, checksum=True) as cut:
        assert checksums_valid(cut)
        h = orig[0].header
        assert h["CTYPE4"] == "STOKES" and h["CRVAL4"] == 1 and h["NAXIS4"] == 1  # one plane: I
        x0, x1, y0, y1 = circle_pixel_box(h, ra, dec, radius)
        expected = orig[0].data[0:1, :, y0 - 1:y1, x0 - 1:x1]
        assert same_values(cut[0].data, expected)
        assert cut[0].header["CTYPE4"] == "STOKES"
    # Q is not on the axis: no pixel selected.
    r = get_cut(archive["base"], {"ID": did, "POL": "Q"})
    assert r.status_code == 204 and r.content == b""


# ---------------------------------------------------------------- errors over HTTP

def is_dali_error(r):
    return (r.headers.get("Content-Type", "").startswith("application/x-votable+xml")
            and '<INFO name="QUERY_STATUS" value="ERROR">' in r.text)


def test_error_cases(archive):
    base = archive["base"]
    did = publisher_did(archive["tap"], "udf_mosaic_subcube")

    r = get_cut(base, {"ID": "ivo://voserver.test/samples?no_such_product", "CIRCLE": "10 10 1"})
    assert r.status_code == 404 and is_dali_error(r)
    assert "ivo://voserver.test/samples?no_such_product" in r.text

    r = get_cut(base, {"ID": did, "CIRCLE": "53.17 -27.80"})
    assert r.status_code == 400 and is_dali_error(r)
    assert "UsageError: CIRCLE" in r.text

    r = get_cut(base, {"ID": did, "BAND": "5.1e-7 5.0e-7"})
    assert r.status_code == 400 and is_dali_error(r)
    assert "UsageError: BAND" in r.text

    r = get_cut(base, {"ID": did, "POL": "I"})
    message = conftest.dali_error(r, 400)
    assert "POL" in message and "no STOKES axis" in message, message  # the parameter, and why it cannot apply

    r = get_cut(base, {"ID": did, "CIRCLE": "53.3 -27.9 0.01"})
    assert r.status_code == 204
    assert r.content == b""
    assert "Content-Length" not in r.headers

    r = get_cut(base, {"CIRCLE": "53.17 -27.80 0.001"})
    message = conftest.dali_error(r, 400)
    assert message.startswith("UsageError: ID") and "missing" in message, message  # SODA 1.0 section 5.2

    r = requests.get(base + "/soda/capabilities", timeout=10)
    assert r.status_code == 200 and "ivo://ivoa.net/std/SODA#sync-1.0" in r.text
    r = requests.get(base + "/soda/availability", timeout=10)
    assert r.status_code == 200 and "<vosi:available>true</vosi:available>" in r.text


# ---------------------------------------------------------------- the demo archive

@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory):
    """A 2-galaxy-or-more PHANGS-MUSE demo (20 x 20 x 200), ingested into a
    fresh store and served."""
    work = tmp_path_factory.mktemp("demo")
    demo_dir = work / "phangs-muse"
    cfg = conftest.write_toml(
        work / "voserver.toml", server=conftest.server_section(threads=2, query_workers=2),
        archive={"authority": "voserver.test", "title": "demo archive", "database": work / "store.sqlite"},
        demo={"out_dir": demo_dir},
        collection=[{"name": "phangs-muse", "directories": [demo_dir], "description": "demo"}])
    vs = str(conftest.VOSERVER)
    mk = subprocess.run([vs, "make-demo", "--config", str(cfg), "--nx", "20", "--ny", "20", "--nchan", "200",
                         "--out", str(demo_dir)], capture_output=True, text=True, timeout=600)
    assert mk.returncode == 0, mk.stdout + mk.stderr
    ing = conftest.ingest(cfg, demo_dir, "phangs-muse", timeout=600)
    assert ing.returncode == 0, ing.stdout + ing.stderr
    with conftest.running_server(cfg, work) as base:
        yield {"base": base, "tap": base + "/tap", "work": work}


def test_demo_phangs_cubes_are_cuttable(demo_archive):
    rows = tap_csv(demo_archive["tap"],
                   "SELECT obs_publisher_did, s_ra, s_dec FROM ivoa.obscore WHERE dataproduct_type = 'cube' "
                   "ORDER BY obs_publisher_did")
    assert len(rows) >= 1
    did, s_ra, s_dec = rows[0][0], float(rows[0][1]), float(rows[0][2])
    ra, dec, radius = s_ra, s_dec, 0.5 / 3600  # 0.5 arcsec = 2.5 spaxels of 0.2 arcsec
    # curl-style: one GET with the parameters in the URL.
    r = requests.get(demo_archive["base"] + "/soda/sync",
                     params={"ID": did, "CIRCLE": f"{ra!r} {dec!r} {radius!r}"}, timeout=60)
    assert r.status_code == 200, r.text
    assert int(r.headers["Content-Length"]) == len(r.content)
    out = demo_archive["work"] / "demo_cut.fits"
    out.write_bytes(r.content)
    rc, text = fitsverify(out)
    assert rc == 0, text
    rows = tap_csv(demo_archive["tap"], f"SELECT obs_id FROM ivoa.obscore WHERE obs_publisher_did = '{did}'")
    src = next(demo_archive["work"].rglob(rows[0][0] + "*.fits"))
    with fits.open(src) as orig, fits.open(out, checksum=True) as cut:
        assert checksums_valid(cut)
        assert [h.name for h in cut][1:] == ["DATA", "STAT", "DQ"]
        x0, x1, y0, y1 = circle_pixel_box(orig["DATA"].header, ra, dec, radius)
        assert (x1 - x0 + 1) * (y1 - y0 + 1) > 1
        for name in ("DATA", "STAT", "DQ"):
            assert cut[name].data.shape == (200, y1 - y0 + 1, x1 - x0 + 1), name
            assert same_values(cut[name].data, orig[name].data[:, y0 - 1:y1, x0 - 1:x1]), name


def test_pyvo_soda_query_gives_the_same_cutout(archive):
    """pyvo 1.2.1's SodaQuery (no DataLink needed) against the same request
    as test_muse_circle_band_cutout_matches_astropy."""
    from astropy import units as u
    from pyvo.dal.adhoc import SodaQuery

    did = publisher_did(archive["tap"], "udf_mosaic_subcube")
    query = SodaQuery(archive["base"] + "/soda/sync",
                      circle=(53.1752 * u.deg, -27.8078 * u.deg, 0.0003 * u.deg),
                      band=(5.0e-7 * u.m, 5.01e-7 * u.m), session=conftest.session())
    query["ID"] = did
    data = query.execute_raw()
    direct = get_cut(archive["base"], {"ID": did, "CIRCLE": "53.1752 -27.8078 0.0003", "BAND": "5e-07 5.01e-07"})
    assert direct.status_code == 200
    cut, ref = fits.HDUList.fromstring(data), fits.HDUList.fromstring(direct.content)
    for name in ("DATA", "STAT"):
        assert cut[name].data.shape == (9, 11, 11)
        assert same_values(cut[name].data, ref[name].data)


def soda_async_job(base, params):
    """POST /soda/async with PHASE=RUN, wait for the end; the final job document."""
    import xml.etree.ElementTree as ET
    r = requests.post(base + "/soda/async", data={**params, "PHASE": "RUN"}, allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text[:300]
    url = r.headers["Location"]
    for _ in range(30):
        doc = ET.fromstring(requests.get(url, params={"WAIT": "5"}, timeout=30).content)
        phase = doc.find("{http://www.ivoa.net/xml/UWS/v1.0}phase").text
        if phase not in ("PENDING", "QUEUED", "EXECUTING"):
            return url, phase, doc
    raise AssertionError("SODA job did not finish")


def test_soda_async_gives_the_sync_cutout(archive, tmp_path):
    did = publisher_did(archive["tap"], "udf_mosaic_subcube")
    params = {"ID": did, "CIRCLE": "53.1752 -27.8078 0.0003", "BAND": "5.0e-7 5.01e-7"}
    sync = requests.get(archive["base"] + "/soda/sync", params=params, timeout=60)
    assert sync.status_code == 200
    url, phase, doc = soda_async_job(archive["base"], params)
    assert phase == "COMPLETED"
    res = requests.get(url + "/results/result", timeout=60)
    assert res.status_code == 200 and res.headers["Content-Type"] == "application/fits"
    out = tmp_path / "async_cut.fits"
    out.write_bytes(res.content)
    rc, text = fitsverify(out)
    assert rc == 0, text
    with fits.open(out) as a, fits.open(__import__("io").BytesIO(sync.content)) as s:
        assert [h.name for h in a] == [h.name for h in s] == ["PRIMARY", "DATA", "STAT"]
        for name in ("DATA", "STAT"):
            assert same_values(a[name].data, s[name].data)


def test_soda_async_no_overlap_has_a_text_result_and_bad_ids_are_errors(archive):
    did = publisher_did(archive["tap"], "udf_mosaic_subcube")
    url, phase, _ = soda_async_job(archive["base"], {"ID": did, "CIRCLE": "180 60 0.001"})
    assert phase == "COMPLETED"
    res = requests.get(url + "/results/result", timeout=10)
    assert res.headers["Content-Type"].startswith("text/plain") and res.text.startswith("NoOverlap")
    url, phase, doc = soda_async_job(archive["base"], {"ID": "ivo://voserver.test/samples?nosuch"})
    assert phase == "ERROR"
    err = requests.get(url + "/error", timeout=10)
    assert err.status_code == 200 and "nosuch" in err.text and "QUERY_STATUS" in err.text


# ---------------------------------------------------------------- large bodies go out without a spool

def proc_write_bytes(pid):
    """Bytes process `pid` caused to be written to storage (/proc/PID/io
    write_bytes: counted when page-cache pages are dirtied, so a spool file
    counts as soon as it is written)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise AssertionError("no write_bytes in /proc/PID/io")


def test_large_cutouts_and_downloads_are_not_spooled(tmp_path):
    """Issue 14: a SODA cutout or a file download larger than the memory queue,
    to a client that keeps reading (with a short pause), makes the worker wait
    for the client instead of copying the body into a spool file (they are
    read from files on disk already). Regression: an 86 MB cutout went through
    the spool for most of its bytes (pwrite + pread of every byte: a third of
    the server's time in the SODA benchmark). The bodies are still complete
    and exact. (A client that reads nothing is still spooled:
    test_reliability's test_clients_that_never_read_a_large_cutout_...)"""
    data_dir = tmp_path / "cubes"
    data_dir.mkdir()
    big = data_dir / "udf_big_cube.fits"
    with fits.open(MUSE) as src:
        hdus = [fits.PrimaryHDU(header=src[0].header)]
        for name in ("DATA", "STAT"):
            h = src[name].header.copy()
            cube = (np.arange(3000 * 60 * 60, dtype=np.float32) % 9973).reshape(3000, 60, 60)
            hdus.append(fits.ImageHDU(data=cube, header=h, name=name))
        fits.HDUList(hdus).writeto(big)
    spool = tmp_path / "spool"
    spool.mkdir()
    cfg = conftest.write_toml(
        tmp_path / "voserver.toml", server=conftest.server_section(threads=2, query_workers=2, spool_dir=spool),
        archive={"authority": "voserver.test", "database": tmp_path / "store.sqlite"},
        collection=[{"name": "big", "directories": [data_dir]}])
    ing = conftest.ingest(cfg, data_dir, "big")
    assert ing.returncode == 0, ing.stdout + ing.stderr
    proc, base = conftest.start_server(cfg, tmp_path)
    try:
        did = tap_csv(base + "/tap", "SELECT obs_publisher_did FROM ivoa.obscore")[0][0]
        for path, params in (("/soda/sync", {"ID": did, "PIXEL_1": "1 60"}),
                             ("/datalink/file", {"ID": did})):
            before = proc_write_bytes(proc.pid)
            with requests.get(base + path, params=params, stream=True, timeout=120) as r:
                assert r.status_code == 200, r.text
                size = int(r.headers["Content-Length"])
                assert size > 80_000_000
                chunks = r.iter_content(1 << 20)
                body = bytearray(next(chunks))
                time.sleep(0.3)  # a short pause (under the 1 s stall that starts a spool)
                for c in chunks:
                    body += c
                written = proc_write_bytes(proc.pid) - before
            assert written < 4_000_000, f"{path}: {written} bytes written to storage (a spool) for a reading client"
            assert len(body) == size, path
            if path == "/datalink/file":
                assert bytes(body) == big.read_bytes()
            else:
                out = tmp_path / "cut.fits"
                out.write_bytes(body)
                with fits.open(out, checksum=True) as cut, fits.open(big) as orig:
                    assert checksums_valid(cut)
                    assert np.array_equal(cut["STAT"].data, orig["STAT"].data)
    finally:
        conftest.stop_server(proc)
