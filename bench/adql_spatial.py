#!/usr/bin/python3
"""Spatial ADQL queries over HTTP (issue 3 "Benchmark"; bench/README.md,
section "ADQL and spatial queries").

    bench/adql_spatial.py STORE [N] [VOSERVER]

Serves STORE (a store with the S2 spatial index, e.g. built by
`bench_adql_parse index STORE`) with VOSERVER (default build/voserver), or,
with QUERY_DATABASE=postgresql://... in the environment, the PostgreSQL
database STORE was published into (`voserver pg-load`; issue 11), and
measures, over one keep-alive HTTP connection, the median wall time of N
TAP sync queries (VOTable TABLEDATA, SELECT *) of each kind:
  cone       CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', ra, dec, r)) = 1
  footprint  INTERSECTS(s_region, CIRCLE('ICRS', ra, dec, r)) = 1
for r = 0.1 and 1 degree at random centres, and of the same rows fetched
without the spatial predicate by primary key (obs_publisher_did IN (...));
then of `SELECT obs_collection, COUNT(*) ... GROUP BY obs_collection` and
`SELECT TOP 10 *` (issue 11's comparison).
NO_PREFILTER=1 OR-s each predicate with a false condition, which keeps the
spatial index out of the plan (the exact test on every row: the "before"
of an index).
"""
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

store = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
voserver = sys.argv[3] if len(sys.argv) > 3 else "build/voserver"
work = tempfile.mkdtemp(prefix="voserver-adql-bench-")
conf = os.path.join(work, "bench.toml")
with open(conf, "w") as f:
    f.write(f"""[server]
host = "127.0.0.1"
port = 0
threads = 2
query_workers = 2
[archive]
authority = "bench"
database = "{store}"
{'query_database = "' + os.environ['QUERY_DATABASE'] + '"' if os.environ.get('QUERY_DATABASE') else ''}
[limits]
maxrec_default = 100000
maxrec_hard = 1000000
""")
log = open(os.path.join(work, "server.log"), "w")
port_file = os.path.join(work, "port")
# port 0: the server picks a free port and writes it to --port-file once it accepts
server = subprocess.Popen([voserver, "serve", "--config", conf, "--port", "0", "--port-file", port_file],
                          stdout=log, stderr=log)
try:
    for _ in range(600):
        if os.path.exists(port_file) or server.poll() is not None:
            break
        time.sleep(0.1)
    if not os.path.exists(port_file):
        sys.exit("server did not start; see " + log.name)
    port = int(open(port_file).read())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def query(adql):
        body = urllib.parse.urlencode({"LANG": "ADQL", "REQUEST": "doQuery", "QUERY": adql})
        t0 = time.perf_counter()
        conn.request("POST", "/tap/sync", body, {"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        data = r.read()
        t1 = time.perf_counter()
        if r.status != 200:
            sys.exit(f"HTTP {r.status} for {adql}: {data[:300]!r}")
        return (t1 - t0) * 1000, data.decode("utf-8", "replace")

    rng = random.Random(1)
    print(f"store {store}, {n} queries of each kind, TAP sync over HTTP (VOTable TABLEDATA, SELECT *)")
    print(f"{'query':<46}{'r/deg':>6}{'matches':>9}{'median/ms':>11}{'p90/ms':>9}{'by PK/ms':>10}{'ratio':>7}")
    for name, pattern in [("cone CONTAINS(POINT(s_ra, s_dec), CIRCLE)",
                           "CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, {r})) = 1"),
                          ("footprint INTERSECTS(s_region, CIRCLE)",
                           "INTERSECTS(s_region, CIRCLE('ICRS', {ra}, {dec}, {r})) = 1")]:
        for r in (0.1, 1.0):
            ts, tpk, matches = [], [], []
            for _ in range(n):
                import math
                ra = 360 * rng.random()
                dec = math.degrees(math.asin(2 * rng.random() - 1))
                where = pattern.format(ra=f"{ra:.6f}", dec=f"{dec:.6f}", r=r)
                if os.environ.get("NO_PREFILTER"):  # OR-ed with a false test: no index pre-filter, the exact test alone
                    where = f"({where}) OR obs_id = 'none'"
                ms, text = query("SELECT * FROM ivoa.obscore WHERE " + where)
                ts.append(ms)
                ids = re.findall(r"<TD>(ivo://[^<]*)</TD>", text)
                matches.append(len(ids))
                inlist = ", ".join("'" + i + "'" for i in ids) or "''"
                ms2, text2 = query(f"SELECT * FROM ivoa.obscore WHERE obs_publisher_did IN ({inlist})")
                tpk.append(ms2)
            ts.sort()
            med, pk = statistics.median(ts), statistics.median(tpk)
            print(f"{name:<46}{r:>6}{statistics.median(matches):>9.1f}{med:>11.2f}{ts[int(0.9 * len(ts))]:>9.2f}"
                  f"{pk:>10.2f}{med / pk:>7.2f}")
    # the other queries of issue 11's comparison (no spatial predicate)
    for name, adql in [("COUNT(*) GROUP BY obs_collection",
                        "SELECT obs_collection, COUNT(*) AS n FROM ivoa.obscore GROUP BY obs_collection"),
                       ("TOP 10 *", "SELECT TOP 10 * FROM ivoa.obscore")]:
        ts = sorted(query(adql)[0] for _ in range(n))
        print(f"{name:<46}{'':>6}{'':>9}{statistics.median(ts):>11.2f}{ts[int(0.9 * len(ts))]:>9.2f}")
finally:
    server.terminate()
    server.wait()
