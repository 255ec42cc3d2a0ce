#!/usr/bin/python3
"""Independent check of the SODA cutouts written by soda_tests.

Run after build/soda_tests (which writes its cutouts, and manifest.jsonl
listing them, to $VO_SODA_OUT; under ctest that is build/soda_out, set in
CMakeLists.txt). scripts/test runs it after the unit tests:

    VO_SODA_OUT=build/soda_out /usr/bin/python3 tests/soda/check_cutouts.py [--print-boxes]

For every manifest entry it recomputes, with astropy only (no voserver code):
  * the pixel box: the region boundary sampled uniformly (<= 1/8 pixel per
    step) and mapped with astropy.wcs all_world2pix (SIP included), segments
    clipped to the image rectangle [0.5, n+0.5]; the image border (1/2 pixel
    steps), a 33x33 grid and the image centre mapped with all_pix2world
    (the WCS's frame, wcs_to_celestial_frame: FK5, FK4, galactic, converted to
    ICRS with astropy.coordinates) and kept where inside
    the region; region anchors (circle centre, polygon vertices); then
    index = floor(p + 0.5) on 1-based pixel coordinates, clipped to the data;
  * the BAND channels from astropy's spectral world values of the channel
    edges converted to vacuum wavelength (air: Edlen/Cox formula, velocities:
    optical/radio/relativistic with the rest frequency);
  * POL planes and PIXEL_n ranges;
and then checks the output file: same box as recomputed, data identical to the
slice of the original stored values (no scaling), corner pixels' world
coordinates equal to the original's at the same pixels to 1e-9 deg (spectral
1e-9 relative), CHECKSUM/DATASUM valid, and `fitsverify -q -e` clean.
Exit status 1 on any failure, also when the manifest is missing or empty
(no cutout checked is not a pass) or the whole check takes longer than
$VO_CHECK_SECONDS (default 600).
"""
import json
import math
import os
import subprocess
import sys
import time
import warnings

import numpy as np
from astropy import units as u
from astropy.coordinates import ICRS, SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import wcs_to_celestial_frame

warnings.simplefilter("ignore")
OUT = os.environ.get("VO_SODA_OUT", "/tmp/voserver_soda_out")
C = 299792458.0
failures = []


def fail(name, msg):
    failures.append(f"{name}: {msg}")
    print(f"FAIL {name}: {msg}")


def nums(s):
    return [float(x) for x in s.replace("CIRCLE", "").replace("POLYGON", "").replace("RANGE", "").split()]


def region_of(params):
    """(kind, values) from POS / CIRCLE / POLYGON (first one only)."""
    out = []
    for k in ("CIRCLE", "POLYGON", "POS"):
        if k in params:
            v = params[k]
            kind = k if k != "POS" else v.split()[0].upper()
            out.append((kind, nums(v)))
    return out


def unit(lon, lat):
    lon, lat = np.radians(lon), np.radians(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def lonlat(v):
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return np.degrees(np.arctan2(v[..., 1], v[..., 0])) % 360, np.degrees(np.arcsin(np.clip(v[..., 2], -1, 1)))


def boundary(kind, v, step):
    """Dense boundary samples (lon, lat) in degrees, as an ordered closed curve."""
    if kind == "CIRCLE":
        ra, dec, r = v
        n = int(min(2e6, max(2000, 2 * math.pi * r / step)))
        c = SkyCoord(ra * u.deg, dec * u.deg)
        pts = c.directional_offset_by(np.linspace(0, 360, n) * u.deg, r * u.deg)
        return pts.ra.deg, pts.dec.deg
    if kind == "POLYGON":
        P = unit(np.array(v[0::2]), np.array(v[1::2]))
        los, las = [], []
        for i in range(len(P)):
            a, b = P[i], P[(i + 1) % len(P)]
            ang = math.acos(np.clip(np.dot(a, b), -1, 1))
            n = int(min(5e5, max(200, ang * 180 / math.pi / step)))
            t = np.linspace(0, 1, n)[:, None]
            pts = a * np.sin((1 - t) * ang) / math.sin(ang) + b * np.sin(t * ang) / math.sin(ang)
            lo, la = lonlat(pts)
            los.append(lo), las.append(la)
        return np.concatenate(los), np.concatenate(las)
    l1, l2, b1, b2 = v
    l1 = 0 if math.isinf(l1) else l1
    l2 = 360 if math.isinf(l2) else l2
    b1, b2 = max(-90, b1), min(90, b2)
    span = (l2 - l1) % 360 if (l2 - l1) < 360 else 360
    n = int(min(5e5, max(400, span / step)))
    m = int(min(5e5, max(400, (b2 - b1) / step)))
    t, s = np.linspace(0, 1, n), np.linspace(0, 1, m)
    lo = np.concatenate([l1 + t * span, np.full(m, l1 + span), l1 + (1 - t) * span, np.full(m, l1)])
    la = np.concatenate([np.full(n, b1), b1 + s * (b2 - b1), np.full(n, b2), b2 + s * (b1 - b2)])
    return lo % 360, la


def inside(kind, v, lon, lat):
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if kind == "CIRCLE":
        ra, dec, r = v
        d = SkyCoord(lon * u.deg, lat * u.deg).separation(SkyCoord(ra * u.deg, dec * u.deg)).deg
        return d <= r + 1e-9
    if kind == "RANGE":
        l1, l2, b1, b2 = v
        l1 = 0 if math.isinf(l1) else l1
        l2 = 360 if math.isinf(l2) else l2
        ok = (lat >= b1 - 1e-9) & (lat <= b2 + 1e-9)
        if l2 - l1 >= 360:
            return ok
        span = (l2 - l1) % 360
        d = (lon - l1) % 360
        return ok & ((d <= span + 1e-9) | (d >= 360 - 1e-9))
    # polygon: gnomonic projection about the vertex mean (great circles become
    # straight lines), then even-odd ray crossing.
    P = unit(np.array(v[0::2]), np.array(v[1::2]))
    c = P.mean(axis=0)
    c /= np.linalg.norm(c)
    e1 = np.cross([0, 0, 1], c)
    if np.linalg.norm(e1) < 1e-12:
        e1 = np.array([1.0, 0, 0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(c, e1)

    def proj(X):
        d = X @ c
        return np.stack([(X @ e1) / d, (X @ e2) / d], axis=-1), d

    V, _ = proj(P)
    X, d = proj(unit(lon, lat))
    x, y = X[..., 0], X[..., 1]
    res = np.zeros(x.shape, bool)
    n = len(V)
    for i in range(n):
        (xa, ya), (xb, yb) = V[i], V[(i + 1) % n]
        cond = (ya > y) != (yb > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = xa + (y - ya) * (xb - xa) / (yb - ya)
        res ^= cond & (x < xc)
    # on-edge tolerance
    for i in range(n):
        A, B = P[i], P[(i + 1) % n]
        nrm = np.cross(A, B)
        nrm /= np.linalg.norm(nrm)
        Q = unit(lon, lat)
        sd = np.abs(Q @ nrm)
        within = (np.cross(A, Q) @ nrm >= 0) & (np.cross(Q, B) @ nrm >= 0)
        res |= (sd < math.radians(1e-9)) & within
    return res & (d > 0)


def celestial_frame(w):
    """astropy's frame of the WCS (ICRS, FK5 with its equinox, FK4, galactic)."""
    return wcs_to_celestial_frame(w)


def to_native(w, lon, lat):
    frame = celestial_frame(w)
    if isinstance(frame, ICRS):
        return lon, lat
    c = SkyCoord(lon * u.deg, lat * u.deg, frame="icrs").transform_to(frame).spherical
    return c.lon.deg, c.lat.deg


def to_icrs(w, lon, lat):
    frame = celestial_frame(w)
    if isinstance(frame, ICRS):
        return lon, lat
    c = SkyCoord(lon * u.deg, lat * u.deg, frame=frame).icrs
    return c.ra.deg, c.dec.deg


def spatial_box(w, naxes, kind, v):
    lng, lat = w.wcs.lng, w.wcs.lat
    nx, ny = naxes[lng], naxes[lat]
    nax = w.naxis
    ref = np.array([(n + 1) / 2.0 for n in naxes] + [1.0] * (nax - len(naxes)))
    world_ref = w.all_pix2world(ref[None, :], 1)[0]

    def p2s(px, py):
        pix = np.tile(ref, (len(px), 1))
        pix[:, lng], pix[:, lat] = px, py
        wd = w.all_pix2world(pix, 1)
        ok = np.isfinite(wd[:, lng]) & np.isfinite(wd[:, lat])
        lo, la = np.full(len(px), np.nan), np.full(len(px), np.nan)
        if ok.any():
            lo[ok], la[ok] = to_icrs(w, wd[ok, lng], wd[ok, lat])
        return lo, la

    def s2p(lo, la):
        nl, nb = to_native(w, lo, la)
        world = np.tile(world_ref, (len(lo), 1))
        world[:, lng], world[:, lat] = nl, nb
        try:
            pix = w.all_world2pix(world, 1, quiet=True)
        except Exception:
            pix = w.wcs_world2pix(world, 1)
        return pix[:, lng], pix[:, lat]

    xs, ys = [], []
    # image border + grid + centre
    bx = np.concatenate([np.linspace(0.5, nx + 0.5, 2 * nx + 1)] * 2 + [np.full(2 * ny + 1, 0.5), np.full(2 * ny + 1, nx + 0.5)])
    by = np.concatenate([np.full(2 * nx + 1, 0.5), np.full(2 * nx + 1, ny + 0.5)] + [np.linspace(0.5, ny + 0.5, 2 * ny + 1)] * 2)
    g = (np.arange(33) + 0.5) / 33
    gx, gy = np.meshgrid(0.5 + nx * g, 0.5 + ny * g)
    bx = np.concatenate([bx, gx.ravel(), [ref[lng]]])
    by = np.concatenate([by, gy.ravel(), [ref[lat]]])
    lo, la = p2s(bx, by)
    ok = np.isfinite(lo)
    ins = np.zeros(len(bx), bool)
    ins[ok] = inside(kind, v, lo[ok], la[ok])
    xs.append(bx[ins]), ys.append(by[ins])
    # scale
    l3, b3 = p2s(np.array([ref[lng], ref[lng] + 1, ref[lng]]), np.array([ref[lat], ref[lat], ref[lat] + 1]))
    c0 = SkyCoord(l3[0] * u.deg, b3[0] * u.deg)
    scale = min(c0.separation(SkyCoord(l3[1] * u.deg, b3[1] * u.deg)).deg, c0.separation(SkyCoord(l3[2] * u.deg, b3[2] * u.deg)).deg)
    # boundary
    blo, bla = boundary(kind, v, scale / 8)
    px, py = s2p(blo, bla)
    fin = np.isfinite(px) & np.isfinite(py)
    inr = fin & (px >= 0.5) & (px <= nx + 0.5) & (py >= 0.5) & (py <= ny + 0.5)
    xs.append(px[inr]), ys.append(py[inr])
    # crossings of the rectangle between consecutive samples
    a, b = np.arange(len(px) - 1), np.arange(1, len(px))
    cross = fin[a] & fin[b] & (inr[a] != inr[b]) & (np.hypot(px[b] - px[a], py[b] - py[a]) < 4)
    for i, j in zip(a[cross], b[cross]):
        x0, y0, x1, y1 = px[i], py[i], px[j], py[j]
        for t in np.linspace(0, 1, 401):
            x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            if 0.5 <= x <= nx + 0.5 and 0.5 <= y <= ny + 0.5:
                xs.append([x]), ys.append([y])
    # anchors
    if kind == "CIRCLE":
        alo, ala = np.array([v[0]]), np.array([v[1]])
    elif kind == "POLYGON":
        alo, ala = np.array(v[0::2]), np.array(v[1::2])
    else:
        alo, ala = np.array([]), np.array([])
    if len(alo):
        ax, ay = s2p(alo, ala)
        ok = np.isfinite(ax) & (ax >= 0.5) & (ax <= nx + 0.5) & (ay >= 0.5) & (ay <= ny + 0.5)
        xs.append(ax[ok]), ys.append(ay[ok])
    X, Y = np.concatenate(xs), np.concatenate(ys)
    if len(X) == 0:
        return None
    f = lambda q: int(math.floor(q + 0.5))
    return (max(1, f(X.min())), min(nx, f(X.max())), max(1, f(Y.min())), min(ny, f(Y.max())))


def air_to_vac(la):
    lv = la
    for _ in range(20):
        s2 = (1 / (lv * 1e6)) ** 2
        lv = la * (1 + 1e-6 * (64.328 + 29498.1 / (146 - s2) + 255.4 / (41 - s2)))
    return lv


def vacuum_wavelength(h, w, s, vals):
    t = w.wcs.ctype[s][:4]
    restfrq = w.wcs.restfrq or h.get("RESTFRQ") or h.get("RESTFREQ") or h.get("FREQ0") or 0
    if not restfrq and w.wcs.restwav:
        restfrq = C / w.wcs.restwav
    restwav = C / restfrq if restfrq else 0
    if t == "WAVE":
        return vals
    if t == "AWAV":
        return air_to_vac(vals)
    if t == "FREQ":
        return C / vals
    if t == "VRAD":
        return C / (restfrq * (1 - vals / C))
    if t == "VOPT":
        return restwav * (1 + vals / C)
    if t == "VELO":
        b = vals / C
        return restwav * np.sqrt((1 + b) / (1 - b))
    raise ValueError(t)


def expected_axes(entry, hdul):
    p = entry["params"]
    ref = next(hdul[i] for i in entry["hdus"] if hdul[i].header.get("NAXIS", 0) > 0)
    h = ref.header
    naxes = [h[f"NAXIS{i}"] for i in range(1, h["NAXIS"] + 1)]
    w = WCS(h, hdul)
    axes = [[1, n, 1] for n in naxes]

    def restrict(i, a, b):
        lo, hi = max(a, axes[i][0]), min(b, axes[i][1])
        if lo > hi:
            return False
        axes[i][0], axes[i][1] = lo, hi
        return True

    for kind, v in region_of(p):
        box = spatial_box(w, naxes, kind, v)
        if box is None or not restrict(w.wcs.lng, box[0], box[1]) or not restrict(w.wcs.lat, box[2], box[3]):
            return None
    if "BAND" in p:
        lo, hi = nums(p["BAND"])
        s = w.wcs.spec
        n = naxes[s]
        ref = np.array([(m + 1) / 2.0 for m in naxes])
        pix = np.tile(ref, (n + 1, 1))
        pix[:, s] = np.arange(n + 1) + 0.5
        world = w.wcs.p2s(pix, 1)["world"][:, s]
        lam = vacuum_wavelength(h, w, s, world)
        a, b = np.minimum(lam[:-1], lam[1:]), np.maximum(lam[:-1], lam[1:])
        k = np.nonzero((a <= hi) & (b > lo))[0]
        if len(k) == 0 or not restrict(s, k[0] + 1, k[-1] + 1):
            return None
    for key, val in p.items():
        if key.startswith("PIXEL_"):
            a, b = nums(val)
            if not restrict(int(key[6:]) - 1, int(a), int(b)):
                return None
    if "POL" in p:
        codes = {"I": 1, "Q": 2, "U": 3, "V": 4}
        si = [i for i, c in enumerate(w.wcs.ctype) if c.startswith("STOKES")][0]
        vals = [h.get(f"CRVAL{si+1}") + h.get(f"CDELT{si+1}") * (k + 1 - h.get(f"CRPIX{si+1}")) for k in range(naxes[si])]
        k = [i for i, x in enumerate(vals) if round(x) == codes[p["POL"]]]
        restrict(si, k[0] + 1, k[-1] + 1)
    return axes


def check_entry(entry, print_boxes):
    name = entry["name"]
    raw = fits.open(entry["input"], do_not_scale_image_data=True)
    exp = expected_axes(entry, raw)
    got = entry["axes"]
    if print_boxes:
        print(name, "expected", exp, "got", got)
    if exp is None:
        fail(name, "astropy finds no overlap but a cutout was written")
        return
    if [a[:2] for a in got] != [a[:2] for a in exp]:
        fail(name, f"pixel box differs: voserver {got} astropy {exp}")
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fits.open(entry["output"], do_not_scale_image_data=True, checksum=True)
        _ = [hdu.data for hdu in out]
    bad = [str(c.message) for c in caught if "hecksum" in str(c.message)]
    if bad:
        fail(name, "checksum: " + bad[0])
    r = subprocess.run(["fitsverify", "-q", "-e", entry["output"]], capture_output=True, text=True, timeout=120)
    if "verification OK" not in r.stdout:
        fail(name, "fitsverify: " + r.stdout.strip())
    cut_hdus = [i for i in entry["hdus"] if raw[i].header.get("NAXIS", 0) > 0 and raw[i].data is not None and raw[i].is_image and raw[i].header["NAXIS"] == len(exp)]
    out_img = [o for o in out if o.header.get("NAXIS", 0) > 0]
    if len(out_img) != len(cut_hdus):
        fail(name, f"{len(out_img)} image HDUs in the output, expected {len(cut_hdus)}")
        return
    sl = tuple(slice(a[0] - 1, a[1]) for a in reversed(exp))
    for i, o in zip(cut_hdus, out_img):
        src = raw[i]
        if src.header.get("EXTNAME", "") != o.header.get("EXTNAME", ""):
            fail(name, f"EXTNAME {o.header.get('EXTNAME')} != {src.header.get('EXTNAME')}")
        want = src.data[sl]
        if want.dtype != o.data.dtype or want.shape != o.data.shape or not np.array_equal(want, o.data, equal_nan=want.dtype.kind == "f"):
            fail(name, f"HDU {i}: data differ (shape {o.data.shape} vs {want.shape})")
        for key in ("BSCALE", "BZERO", "BLANK", "BITPIX"):
            if src.header.get(key) != o.header.get(key):
                fail(name, f"HDU {i}: {key} changed")
        # corner world coordinates
        wi, wo = WCS(src.header, raw), WCS(o.header, out)
        if wi.naxis == 0 or not wi.has_celestial:
            continue
        n = len(exp)
        corners_out = np.array([[1 if (c >> k) & 1 == 0 else exp[k][1] - exp[k][0] + 1 for k in range(n)] for c in range(2 ** n)], float)
        corners_in = corners_out + np.array([a[0] - 1 for a in exp])
        if wi.naxis > n:
            corners_out = np.hstack([corners_out, np.ones((len(corners_out), wi.naxis - n))])
            corners_in = np.hstack([corners_in, np.ones((len(corners_in), wi.naxis - n))])
        a, b = wi.all_pix2world(corners_in, 1), wo.all_pix2world(corners_out, 1)
        for k in range(wi.naxis):
            if k in (wi.wcs.lng, wi.wcs.lat):
                d = np.abs(((a[:, k] - b[:, k]) + 180) % 360 - 180)
                if np.nanmax(d) > 1e-9:
                    fail(name, f"HDU {i}: corner world axis {k+1} differs by {np.nanmax(d)} deg")
            else:
                d = np.abs(a[:, k] - b[:, k]) / np.maximum(np.abs(a[:, k]), 1e-300)
                if np.nanmax(d) > 1e-9:
                    fail(name, f"HDU {i}: corner world axis {k+1} differs by {np.nanmax(d)} relative")


def main():
    """Checks every manifest entry; exit status 0 only if there was at least
    one and none failed, within the time budget."""
    print_boxes = "--print-boxes" in sys.argv
    budget = float(os.environ.get("VO_CHECK_SECONDS", "600"))
    manifest = os.path.join(OUT, "manifest.jsonl")
    if not os.path.exists(manifest):
        print(f"FAIL: no {manifest}: run soda_tests first (with VO_SODA_OUT={OUT})")
        sys.exit(1)
    entries = [json.loads(l) for l in open(manifest) if l.strip()]
    if not entries:
        print(f"FAIL: {manifest} lists no cutout")
        sys.exit(1)
    end = time.monotonic() + budget
    checked = 0
    for e in entries:
        if time.monotonic() > end:
            fail("check_cutouts", f"time budget of {budget:g} s spent after {checked} of {len(entries)} cutouts")
            break
        try:
            check_entry(e, print_boxes)
        except Exception as ex:  # report and go on
            fail(e["name"], f"exception {type(ex).__name__}: {ex}")
        checked += 1
    print(f"{checked} cutouts checked, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
