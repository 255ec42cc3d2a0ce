"""Previews (issue 10 item 4) through DataLink: #preview images and the
#preview-plot spectrum of cubes, #preview renderings of images, checked
pixel for pixel against numpy computations from the FITS files with the
stretch documented in obscore/preview.hpp.

Run with /usr/bin/python3 -m pytest tests/integration/test_previews.py."""
import struct
import urllib.parse
import warnings
import zlib

import numpy as np
import pytest
import requests
from astropy.io import fits

import conftest
from test_datalink import did_of, links

warnings.simplefilter("ignore")
pytestmark = pytest.mark.filterwarnings("ignore")
MUSE = conftest.FITS_DIR / "muse" / "udf_mosaic_subcube.fits"
HST = conftest.FITS_DIR / "hst" / "wfpc2_hdfs_f606w.fits"


def decode_png(data):
    """(width, height, channels, uint8 array [h, w, c]) of an 8-bit non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0
    c = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw = zlib.decompress(idat)
    stride = w * c
    out = np.zeros((h, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = cur[x - c] if x >= c else 0
            b = prev[x]
            cc = prev[x - c] if x >= c else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - cc), abs(a - cc), abs(a + b - 2 * cc)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
            cur[x] = (line[x] + p) & 0xFF
        out[y] = cur
        prev = cur
    return w, h, c, out.reshape(h, w, c).astype(np.uint8)


def stretch(values):
    """The documented stretch: percentiles 0.5 / 99.5 (method "lower"), asinh(10 t) / asinh(10)."""
    finite = values[np.isfinite(values)]
    lo, hi = np.percentile(finite, 0.5, method="lower"), np.percentile(finite, 99.5, method="lower")
    if not hi > lo:
        hi = lo + 1
    t = np.clip((values - lo) / (hi - lo), 0, 1)
    grey = np.rint(255 * np.arcsinh(10 * t) / np.arcsinh(10))
    return np.where(np.isfinite(values), grey, 0), np.isfinite(values)


def check_rendering(png, values):
    """The PNG (grey + alpha) shows `values` (FITS row 0 at the bottom) after the stretch."""
    w, h, c, img = decode_png(png)
    assert (w, h, c) == (values.shape[1], values.shape[0], 2)
    grey, opaque = stretch(values)
    grey, opaque = grey[::-1], opaque[::-1]  # north up: the last FITS row is PNG row 0
    assert np.array_equal(img[..., 1] == 255, opaque) and np.all(img[..., 1][~opaque] == 0)
    diff = np.abs(img[..., 0].astype(int) - grey.astype(int))[opaque]
    assert diff.max() <= 1 and np.mean(diff == 0) > 0.999  # rounding of ties in asinh may differ by one level


def preview_rows(archive, did):
    _, rows, _ = links(archive, did)
    return [r for r in rows if r["semantics"] in ("#preview", "#preview-plot")]


def fetch(url):
    r = requests.get(url, timeout=conftest.TIMEOUT)
    assert r.status_code == 200, r.text[:400]
    assert r.headers["Content-Type"] == "image/png"
    return r


def test_cube_previews_are_the_peak_and_mean_along_the_spectral_axis(archive):
    rows = preview_rows(archive, did_of(archive, "udf_mosaic_subcube"))
    by_kind = {urllib.parse.parse_qs(urllib.parse.urlsplit(r["access_url"]).query)["KIND"][0]: r for r in rows}
    assert set(by_kind) == {"peak", "mean", "spectrum"}
    assert by_kind["peak"]["semantics"] == "#preview" and by_kind["spectrum"]["semantics"] == "#preview-plot"
    assert all(r["content_type"] == "image/png" for r in rows)
    data = fits.getdata(MUSE, "DATA").astype(np.float64)  # (500, 30, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_rendering(fetch(by_kind["peak"]["access_url"]).content, np.nanmax(data, axis=0))
        check_rendering(fetch(by_kind["mean"]["access_url"]).content, np.nanmean(data, axis=0))
    w, h, c, _ = decode_png(fetch(by_kind["spectrum"]["access_url"]).content)
    assert (w, h) == (900, 450) and c == 3


def test_image_preview_and_its_second_request_is_the_stored_file(archive):
    rows = preview_rows(archive, did_of(archive, "wfpc2_hdfs_f606w"))
    assert [r["semantics"] for r in rows] == ["#preview"]
    first = fetch(rows[0]["access_url"])
    check_rendering(first.content, fits.getdata(HST, "DATA").astype(np.float64))
    second = fetch(rows[0]["access_url"])
    assert second.content == first.content and second.headers["ETag"] == first.headers["ETag"]
    head = requests.head(rows[0]["access_url"], timeout=conftest.TIMEOUT)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(first.content)


def test_spectra_have_no_previews_and_bad_requests_say_why(archive):
    assert preview_rows(archive, did_of(archive, "udf10_00002_spectrum")) == []
    base = archive["base"] + "/datalink/preview"
    did = did_of(archive, "udf_mosaic_subcube")
    msg = conftest.dali_error(requests.get(base, params={"ID": did, "KIND": "image"}, timeout=conftest.TIMEOUT), 404)
    assert "peak" in msg and "KIND=image" in msg
    msg = conftest.dali_error(requests.get(base, params={"ID": "ivo://voserver.test/samples?none", "KIND": "peak"},
                                           timeout=conftest.TIMEOUT), 404)
    assert "NotFoundFault" in msg
    msg = conftest.dali_error(requests.get(base, params={"ID": did}, timeout=conftest.TIMEOUT), 400)
    assert "KIND" in msg


def test_large_images_are_reduced_and_unreadable_data_fail_alone(tmp_path):
    rng = np.random.default_rng(7)
    big = rng.normal(10, 3, size=(30, 2100))
    big[5, 100:110] = np.nan
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    header = fits.Header()
    for k, v in {"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 150.0, "CRVAL2": 2.0, "CRPIX1": 1050.0,
                 "CRPIX2": 15.0, "CDELT1": -1e-4, "CDELT2": 1e-4}.items():
        header[k] = v
    fits.PrimaryHDU(big, header).writeto(data_dir / "wide.fits")
    fits.PrimaryHDU(big.astype(np.float32), header).writeto(data_dir / "broken.fits")
    cfg = conftest.write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace(str(conftest.FITS_DIR), str(data_dir)))
    done = conftest.ingest(cfg, data_dir, "samples")
    assert done.returncode == 0, done.stdout + done.stderr
    with open(data_dir / "broken.fits", "r+b") as f:  # the pixels are gone after ingest
        f.truncate(2880 * 2)
    with conftest.running_server(cfg, tmp_path) as base:
        arch = {"base": base, "tap": base + "/tap"}
        broken = preview_rows(arch, did_of(arch, "broken"))
        r = requests.get(broken[0]["access_url"], timeout=conftest.TIMEOUT)
        assert "cannot be made" in conftest.dali_error(r, 500)
        png = fetch(preview_rows(arch, did_of(arch, "wide"))[0]["access_url"]).content
        # 2100 x 30 pixels -> factor 3 -> 700 x 10, each the mean of the finite values of a 3 x 3 block
        blocks = big.reshape(10, 3, 700, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_rendering(png, np.nanmean(blocks, axis=(1, 3)))
