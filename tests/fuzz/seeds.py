"""Writes the seed corpus of one fuzz target (tests/fuzz/build_and_run.sh).

    python3 tests/fuzz/seeds.py TARGET OUT_DIR SHARED_DIR

Every seed starts with the mode byte the target reads first (see the header
comment of tests/fuzz/<target>.cpp). Seeds come from the shared data
(lyonetia ADQL queries, real FITS headers and files) and from a few
hand-written requests. Missing shared data only means fewer seeds.
"""
import glob
import hashlib
import json
import os
import sys

MAX_LEN = {"adql_fuzz": 65536, "params_fuzz": 16384, "soda_fuzz": 4096, "geometry_fuzz": 8192,
           "fits_fuzz": 65536}


def write(out, target, data):
    data = data[:MAX_LEN[target]]
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def lyonetia(shared):
    path = os.path.join(shared, "conformance", "adql", "lyonetia-cases.jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["adql"] for line in f if line.strip()]


def fits_files(shared):
    return sorted(glob.glob(os.path.join(shared, "data", "fits", "*", "*")))


def cards(block):
    return [block[i:i + 80] for i in range(0, len(block), 80)]


def raw_headers(data):
    """The header blocks (bytes, 80-character records up to END) of a FITS file, data skipped."""
    headers, pos = [], 0
    while pos + 2880 <= len(data) and len(headers) < 20:
        start, end = pos, None
        while pos + 2880 <= len(data):
            block = data[pos:pos + 2880]
            pos += 2880
            if any(c[:8] == b"END     " or c.rstrip() == b"END" for c in cards(block)):
                end = pos
                break
        if end is None:
            break
        header = data[start:end]
        headers.append(header)
        values = {}
        for c in cards(header):
            if len(c) > 10 and c[8:10] == b"= ":
                values[c[:8].strip().decode("ascii", "replace")] = c[10:].split(b"/")[0].strip()
        try:
            bitpix = abs(int(values.get("BITPIX", b"8")))
            naxis = int(values.get("NAXIS", b"0"))
            n = 1 if naxis > 0 else 0
            for i in range(1, naxis + 1):
                n *= int(values.get("NAXIS%d" % i, b"0"))
            pcount, gcount = int(values.get("PCOUNT", b"0")), int(values.get("GCOUNT", b"1"))
            size = bitpix // 8 * gcount * (pcount + n)
        except ValueError:
            break
        pos += (size + 2879) // 2880 * 2880
    return headers


def adql_seeds(shared, out):
    for q in lyonetia(shared):
        for mode in (0, 1, 2):
            write(out, "adql_fuzz", bytes([mode]) + q.encode("utf-8"))
    for q in ["SELECT TOP 10 obs_id, s_ra FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), "
              "CIRCLE('ICRS', 10, 20, 1)) = 1 ORDER BY s_ra",
              "SELECT * FROM ivoa.obscore WHERE INTERSECTS(s_region, POLYGON('ICRS', 1, 2, 3, 4, 5, 6)) = 1",
              "SELECT COUNT(*), AVG(s_fov) FROM ivoa.obscore GROUP BY calib_level HAVING COUNT(*) > 2",
              "SELECT a FROM foo UNION SELECT a FROM bar EXCEPT SELECT a FROM y",
              "WITH t AS (SELECT x FROM foo) SELECT x FROM t WHERE x BETWEEN 1 AND 2"]:
        for mode in (0, 1):
            write(out, "adql_fuzz", bytes([mode]) + q.encode())


def params_seeds(shared, out):
    b = "XyZ123"
    multipart = ("--{b}\r\nContent-Disposition: form-data; name=\"REQUEST\"\r\n\r\ndoQuery\r\n"
                 "--{b}\r\nContent-Disposition: form-data; name=\"LANG\"\r\n\r\nADQL\r\n"
                 "--{b}\r\nContent-Disposition: form-data; name=\"QUERY\"\r\n\r\nSELECT * FROM TAP_UPLOAD.t\r\n"
                 "--{b}\r\nContent-Disposition: form-data; name=\"UPLOAD\"\r\n\r\nt,param:t1\r\n"
                 "--{b}\r\nContent-Disposition: form-data; name=\"t1\"; filename=\"t.xml\"\r\n"
                 "Content-Type: application/x-votable+xml\r\n\r\n<VOTABLE/>\r\n--{b}--\r\n").format(b=b)
    ct = "multipart/form-data; boundary=" + b
    ct_quoted = 'multipart/form-data; charset=utf-8; boundary="' + b + '"'
    urlenc = "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT+TOP+5+*+FROM+ivoa.obscore&MAXREC=100&FORMAT=csv"
    seeds = [
        (0, "/tap/sync", ct, multipart),
        (0, "/tap/sync", ct_quoted, multipart.replace("\r\n", "\n")),
        (1, "/tap/sync", ct, multipart),
        (1, "/tap/sync?MAXREC=10", "application/x-www-form-urlencoded", urlenc),
        (1, "/tap/async", "", "PHASE=RUN&RUNID=a%20b%2Bc"),
        (2, "/tap/sync?" + urlenc + "#frag", "", ""),
        (2, "/soda/sync?ID=ivo%3A%2F%2Fx%2Fy%3Fz&CIRCLE=10+20+0.1&POL=I&POL=Q", "", ""),
        (2, "/tap/sync?MAXREC=99999999999999999999999&REQUEST=doQuery&request=doQuery", "", ""),
        (3, "", "", urlenc),
        (3, "", "", "a=%zz&b=%4"),
    ]
    for mode, target, ctype, body in seeds:
        for extra in (0, 0x14, 0x3c):
            write(out, "params_fuzz", bytes([mode | extra]) + (target + "\n" + ctype + "\n" + body).encode())


def fits_centres(shared):
    """(file name in the order of soda_fuzz.cpp kProducts, CRVAL1, CRVAL2) of the cut-out products."""
    names = ["radio/first_vla_cutout.fits", "radio/jcmt_harp_13CO_3-2_integ.fits", "other/apogee_sip-wcs.fits",
             "muse/udf10_00002_spectrum.fits", "hst/wfpc2_test0.fits", "alma/ngc3256_alma_sv_co10_cube.fits"]
    out = []
    for n in names:
        path = os.path.join(shared, "data", "fits", n)
        c1, c2 = 10.0, 20.0
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read(2880 * 40)
            for h in raw_headers(data):
                for c in cards(h):
                    try:
                        if c[:8] == b"CRVAL1  ":
                            c1 = float(c[10:].split(b"/")[0])
                        elif c[:8] == b"CRVAL2  ":
                            c2 = float(c[10:].split(b"/")[0])
                    except ValueError:
                        pass
        out.append((n, c1 % 360.0, max(-90.0, min(90.0, c2))))
    return out


def soda_seeds(shared, out):
    for index, (_, lon, lat) in enumerate(fits_centres(shared)):
        for text in ["CIRCLE=%.6f %.6f 0.002" % (lon, lat),
                     "POS=CIRCLE %.6f %.6f 0.01\nBAND=5e-7 6e-7" % (lon, lat),
                     "POS=RANGE %.6f %.6f %.6f %.6f" % (lon - 0.01, lon + 0.01, lat - 0.01, lat + 0.01),
                     "POLYGON=%.6f %.6f %.6f %.6f %.6f %.6f" % (lon, lat, lon + 0.01, lat, lon, lat + 0.01),
                     "PIXEL_1=2 10\nPIXEL_2=3 7",
                     "BAND=-Inf +Inf\nTIME=50000 70000\nPOL=I",
                     "META=true\nID=ivo://x/y?z\nRESPONSEFORMAT=application/fits"]:
            for meta in (0, 0x10):
                write(out, "soda_fuzz", bytes([0x21 | (index << 1) | meta]) + text.encode())
    for text in ["POS=RANGE 350 10 -Inf +Inf", "POS=POLYGON 0 0 10 0 10 10 0 10", "CIRCLE=0 90 180",
                 "POL=RR\nPOL=LL\nPOL=RR", "TIME=1 0", "pixel_3=1 100000", "PIXEL_1=1 2048\nPIXEL_2=5 5", "CIRCLE=1 2 3\ncircle=1 2 3"]:
        write(out, "soda_fuzz", b"\x00" + text.encode())


def geometry_seeds(shared, out):
    texts = ["Polygon ICRS 10 20 10.5 20 10.5 20.5 10 20.5\n10.2 20.2",
             "10 20 1\n10.5 20.5",
             "359.5 -1 0.5 -1 0.5 1 359.5 1\n0 0",
             "range 10 20 -5 5\n15 0 2",
             "Circle ICRS 180 -89.9 0.5\nPosition ICRS 0 -90",
             "0 90 0 0 90 0\n45 45 10",
             "1 2\n1 2",
             "2011-05-17T10:11:12Z\n%11%",
             "1e308 -90 1e-300\n nan inf"]
    for t in texts:
        write(out, "geometry_fuzz", b"\x00" + t.encode())
    for t in ["10 20 1 2 3 4 5 6 5 100", "0 90 180 -90 359.999 45 0.5 0.5 29 12", "-1e308 1e308 0 0 0 0 0 0 -1 -1",
              "123.456 -2 0.000001 7 8 9 1 1 0 0"]:
        write(out, "geometry_fuzz", b"\x01" + t.encode())


def fits_seeds(shared, out):
    for path in fits_files(shared):
        name = os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read(4 * 1024 * 1024)
        if name.endswith((".hdr", ".header")):
            write(out, "fits_fuzz", b"\x00" + data)
            continue
        if not (name.endswith((".fits", ".fit", ".fits.gz")) or ".fits" in name):
            continue
        if len(data) < 65535 or name.endswith(".gz"):
            write(out, "fits_fuzz", b"\x01" + data)  # whole file (or its first 64 KB)
        headers = raw_headers(data)
        if headers:
            # The headers without their data: a header dump in raw records,
            # and as a file (then truncated: the product is skipped).
            write(out, "fits_fuzz", b"\x00" + b"".join(headers))
            write(out, "fits_fuzz", b"\x01" + b"".join(headers))
            # Text form, one card per line, as the .fits.header dumps.
            text = []
            for i, h in enumerate(headers):
                text.append(b"# HDU %d in file:" % i)
                text.extend(c.rstrip() for c in cards(h))
            write(out, "fits_fuzz", b"\x00" + b"\n".join(text) + b"\n")


def main():
    target, out, shared = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    {"adql_fuzz": adql_seeds, "params_fuzz": params_seeds, "soda_fuzz": soda_seeds,
     "geometry_fuzz": geometry_seeds, "fits_fuzz": fits_seeds}[target](shared, out)


if __name__ == "__main__":
    main()
