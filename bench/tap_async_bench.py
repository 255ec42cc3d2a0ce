"""Async TAP latency (issue 9 benchmark): time from POST /tap/async with
PHASE=RUN to the fetched result of a TOP 10 query, on loopback, through one
kept-alive HTTP connection (as pyvo and TOPCAT use one).

The client follows UWS 1.1: POST (303 to the job), then GET job?WAIT=-1
(section 2.2.1.2: blocks until the phase changes, here capped by the server's
published maximum) until the phase is final, then GET results/result. The
job is deleted after the clock stops. Two clients are measured: the standard
library's http.client (little client cost, closest to what the server
takes) and requests (what pyvo uses, about 0.5 ms more per exchange).

Usage: /usr/bin/python3 bench/tap_async_bench.py TAP_URL [N]   (N = 200)
Prints the median, p90 and max in milliseconds for each client."""
import http.client
import re
import statistics
import sys
import time
import urllib.parse

import requests

TIMEOUT = 60
QUERY = {"LANG": "ADQL", "QUERY": "SELECT TOP 10 * FROM ivoa.obscore", "PHASE": "RUN"}
FINAL = ("COMPLETED", "ERROR", "ABORTED")
PHASE = re.compile(rb"<uws:phase>([A-Z]+)</uws:phase>")


def with_http_client(tap, n):
    url = urllib.parse.urlsplit(tap)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)

    def exchange(method, path, body=None):
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r, r.read()

    times = []
    body = urllib.parse.urlencode(QUERY)
    for _ in range(n):
        t0 = time.perf_counter()
        r, _ = exchange("POST", url.path + "/async", body)
        assert r.status == 303, r.status
        job = urllib.parse.urlsplit(r.getheader("Location")).path
        phase = b""
        while phase.decode() not in FINAL:
            query = "?WAIT=-1" + (("&PHASE=" + phase.decode()) if phase else "")
            r, doc = exchange("GET", job + query)
            phase = PHASE.search(doc).group(1)
        r, result = exchange("GET", job + "/results/result")
        times.append((time.perf_counter() - t0) * 1000)
        assert phase == b"COMPLETED" and r.status == 200 and b"<TR>" in result
        exchange("DELETE", job)
    return times


def with_requests(tap, n):
    s = requests.Session()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = s.post(tap + "/async", data=QUERY, allow_redirects=False, timeout=TIMEOUT)
        job = r.headers["Location"]
        phase = ""
        while phase not in FINAL:
            params = {"WAIT": "-1", **({"PHASE": phase} if phase else {})}
            doc = s.get(job, params=params, timeout=TIMEOUT).content
            phase = PHASE.search(doc).group(1).decode()
        res = s.get(job + "/results/result", timeout=TIMEOUT)
        times.append((time.perf_counter() - t0) * 1000)
        assert phase == "COMPLETED" and res.status_code == 200 and b"<TR>" in res.content
        s.delete(job, allow_redirects=False, timeout=TIMEOUT)
    return times


def report(name, times):
    times = sorted(times)
    n = len(times)
    print(f"async TOP 10, {n} jobs, {name}: median {statistics.median(times):.2f} ms, "
          f"p90 {times[max(0, int(0.9 * n) - 1)]:.2f} ms, max {times[-1]:.2f} ms")


if __name__ == "__main__":
    tap = sys.argv[1].rstrip("/")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    report("http.client", with_http_client(tap, n))
    report("requests", with_requests(tap, n))
