"""Upload cross-match (issue 9 benchmark): N uploaded positions (uniform over
the sky, fixed seed) matched against ivoa.obscore by
CONTAINS(POINT(t.ra, t.dec), CIRCLE('ICRS', o.s_ra, o.s_dec, R)) = 1,
TAP sync POST with an inline BINARY2 upload (TAP 1.1 section 2.5), the whole
VOTable result read. The wall time includes building the upload, sending it,
the server reading it into its TEMP table, the indexed join and the result.

Usage: /usr/bin/python3 bench/upload_xmatch_bench.py TAP_URL [N=10000] [R_DEG=0.05] [RUNS=5]
Prints each run's time and the number of matches, then the median."""
import io
import statistics
import sys
import time

import numpy as np
import requests
from astropy.io.votable import from_table, parse_single_table
from astropy.table import Table

tap = sys.argv[1].rstrip("/")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
radius = float(sys.argv[3]) if len(sys.argv) > 3 else 0.05
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5

rng = np.random.default_rng(7)
table = Table({"id": np.arange(n, dtype=np.int32),
               "ra": 360.0 * rng.random(n),
               "dec": np.degrees(np.arcsin(2.0 * rng.random(n) - 1.0))})
query = ("SELECT t.id, o.obs_id, o.s_ra, o.s_dec FROM TAP_UPLOAD.t AS t JOIN ivoa.obscore AS o "
         f"ON CONTAINS(POINT('ICRS', t.ra, t.dec), CIRCLE('ICRS', o.s_ra, o.s_dec, {radius})) = 1")

s = requests.Session()
times = []
for run in range(runs):
    t0 = time.perf_counter()
    buf = io.BytesIO()
    vot = from_table(table)
    vot.to_xml(buf, tabledata_format="binary2")
    r = s.post(tap + "/sync", data={"LANG": "ADQL", "QUERY": query, "UPLOAD": "t,param:t",
                                     "MAXREC": str(10 * n)},
               files={"t": ("t.xml", buf.getvalue(), "application/x-votable+xml")}, timeout=600)
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200, r.text[:2000]
    matches = len(parse_single_table(io.BytesIO(r.content)).to_table())
    times.append(elapsed)
    print(f"run {run + 1}: {elapsed * 1000:.0f} ms, {matches} matches, upload {len(buf.getvalue())} bytes")
print(f"{n} uploaded positions, r = {radius} deg: median {statistics.median(times) * 1000:.0f} ms "
      f"over {runs} runs (best {min(times) * 1000:.0f} ms)")
