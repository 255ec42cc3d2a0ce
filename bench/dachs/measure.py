"""Client side of the DaCHS comparison (issue 14): the same TAP requests to
voserver and to GAVO DaCHS, over loopback HTTP, one after the other in one run.

Every request is a TAP 1.1 sync query (section 2.1: GET {tap}/sync with LANG,
QUERY, RESPONSEFORMAT, MAXREC) or an async job (UWS 1.1), sent with the
standard library's http.client over one kept-alive connection. Each answer
is checked (HTTP 200, no VOTable error INFO) and its rows are counted, so a
line only compares the two servers when both returned the same number of
rows.

Usage (both TAP base URLs, e.g. http://127.0.0.1:PORT/tap):
  measure.py latency VOSERVER_TAP DACHS_TAP VOS_TABLE DACHS_TABLE N NAME QUERY
      median and p90 (ms) of N sync requests, TABLEDATA; QUERY names the table
      as {table}; cone queries take {ra} {dec} from a fixed list of centres
  measure.py stream TAP TABLE FORMAT ROWS
      one SELECT * of ROWS rows in FORMAT (votable/td, votable/b, csv):
      seconds, rows/s, bytes
  measure.py async TAP TABLE N
      N async round trips of SELECT TOP 10 * as pyvo's run_async makes them
      (POST the job, POST PHASE=RUN to its phase, GET job?WAIT=-1 until the
      phase is final, GET results/result): median and p90 (ms). DaCHS 2.7
      ignores PHASE=RUN in the creating POST, hence the separate phase POST.
Every command prints one line of key=value pairs (the shell script reads them).
"""
import http.client
import math
import random
import re
import statistics
import sys
import time
import urllib.parse

TIMEOUT = 600
FINAL = (b"COMPLETED", b"ERROR", b"ABORTED")
PHASE = re.compile(rb"<uws:phase>([A-Z]+)</uws:phase>")
ERROR_INFO = re.compile(rb'<INFO[^>]*name="QUERY_STATUS"[^>]*value="ERROR"')


def centres(n, seed=14):
    """n (ra, dec) pairs, uniform on the sphere, the same for both servers."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ra = 360.0 * rng.random()
        dec = 90.0 - math.degrees(math.acos(2 * rng.random() - 1))
        out.append((round(ra, 4), round(dec, 4)))
    return out


class Tap:
    """One kept-alive HTTP connection to a TAP service at base URL `tap`."""

    def __init__(self, tap):
        self.url = urllib.parse.urlsplit(tap.rstrip("/"))
        self.conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=TIMEOUT)

    def exchange(self, method, path, body=None):
        """(response, body bytes) of one request; reconnects once if the server closed."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                return r, r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def sync(self, query, fmt="votable/td", maxrec=None):
        """Body of a sync query; raises if it is not a successful answer."""
        params = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt}
        if maxrec is not None:
            params["MAXREC"] = str(maxrec)
        r, body = self.exchange("GET", self.url.path + "/sync?" + urllib.parse.urlencode(params))
        if r.status != 200 or ERROR_INFO.search(body[:65536]):
            raise SystemExit(f"{self.url.geturl()}: {query}: HTTP {r.status}: {body[:600]!r}")
        return body


def rows_in(body, fmt):
    """Number of table rows in an answer (TABLEDATA <TR> elements or CSV lines)."""
    if fmt == "csv":
        return body.count(b"\n") - 1  # no newlines inside the fields of these tables
    return body.count(b"<TR>")


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def latency(vos_tap, dachs_tap, vos_table, dachs_table, n, name, query):
    """Median/p90 of n requests to each server, interleaved in rounds of 10."""
    servers = [("voserver", Tap(vos_tap), vos_table), ("dachs", Tap(dachs_tap), dachs_table)]
    pts = centres(n)
    times = {s[0]: [] for s in servers}
    rows = {s[0]: [] for s in servers}
    for label, tap, table in servers:  # warm-up (first request: plans, RD loading)
        tap.sync(query.format(table=table, ra=pts[0][0], dec=pts[0][1]))
    for start in range(0, n, 10):
        for label, tap, table in servers:
            for i in range(start, min(n, start + 10)):
                q = query.format(table=table, ra=pts[i][0], dec=pts[i][1])
                t0 = time.perf_counter()
                body = tap.sync(q)
                times[label].append((time.perf_counter() - t0) * 1000)
                rows[label].append(rows_in(body, "votable/td"))
    if rows["voserver"] != rows["dachs"]:
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(rows["voserver"], rows["dachs"])) if a != b]
        raise SystemExit(f"{name}: row counts differ (request, voserver, dachs): {diff[:5]}")
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"name={name} n={n} rows_median={statistics.median(rows['voserver']):g} "
          f"vos_median_ms={med['voserver']:.3f} vos_p90_ms={percentile(times['voserver'], 0.9):.3f} "
          f"dachs_median_ms={med['dachs']:.3f} dachs_p90_ms={percentile(times['dachs'], 0.9):.3f} "
          f"ratio={med['voserver'] / med['dachs']:.4f}")


def stream(tap_url, table, fmt, rows):
    """One full SELECT * of `rows` rows in format fmt, timed to the last byte."""
    tap = Tap(tap_url)
    t0 = time.perf_counter()
    body = tap.sync(f"SELECT * FROM {table}", fmt=fmt, maxrec=rows)
    secs = time.perf_counter() - t0
    got = rows_in(body, fmt) if fmt in ("csv", "votable/td") else rows
    if got != rows:
        raise SystemExit(f"{tap_url} {fmt}: {got} rows, expected {rows}")
    print(f"fmt={fmt} rows={rows} secs={secs:.3f} rows_per_s={rows / secs:.0f} bytes={len(body)}")


def async_round_trips(tap_url, table, n):
    """n async TOP 10 jobs, each timed from the POST to the fetched result."""
    tap = Tap(tap_url)
    base = tap.url.path
    body = urllib.parse.urlencode({"REQUEST": "doQuery", "LANG": "ADQL",
                                   "RESPONSEFORMAT": "votable/td",
                                   "QUERY": f"SELECT TOP 10 * FROM {table}"})
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r, _ = tap.exchange("POST", base + "/async", body)
        if r.status != 303:
            raise SystemExit(f"{tap_url}/async: HTTP {r.status}")
        job = urllib.parse.urlsplit(r.getheader("Location")).path
        r, _ = tap.exchange("POST", job + "/phase", "PHASE=RUN")
        if r.status != 303:
            raise SystemExit(f"{tap_url} {job}/phase: HTTP {r.status}")
        phase = b""
        while phase not in FINAL:
            if time.perf_counter() - t0 > 120:
                raise SystemExit(f"{tap_url}: job {job} still {phase!r} after 120 s")
            q = "?WAIT=-1" + (("&PHASE=" + phase.decode()) if phase else "")
            r, doc = tap.exchange("GET", job + q)
            phase = PHASE.search(doc).group(1)
        r, result = tap.exchange("GET", job + "/results/result")
        times.append((time.perf_counter() - t0) * 1000)
        if phase != b"COMPLETED" or r.status != 200 or result.count(b"<TR>") != 10:
            raise SystemExit(f"{tap_url}: job {job} ended {phase!r}, HTTP {r.status}")
        tap.exchange("DELETE", job)
    print(f"n={n} median_ms={statistics.median(times):.2f} p90_ms={percentile(times, 0.9):.2f}")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[1]
    if cmd == "latency" and len(argv) == 9:
        latency(argv[2], argv[3], argv[4], argv[5], int(argv[6]), argv[7], argv[8])
    elif cmd == "stream" and len(argv) == 6:
        stream(argv[2], argv[3], argv[4], int(argv[5]))
    elif cmd == "async" and len(argv) == 5:
        async_round_trips(argv[2], argv[3], int(argv[4]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
