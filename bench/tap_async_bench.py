"""Async TAP latency (issue 9 benchmark): time from POST /tap/async with
PHASE=RUN to the fetched result of a TOP 10 query, on loopback, through one
kept-alive HTTP session (as pyvo and TOPCAT use one), WAIT=-1 polling.

Usage: /usr/bin/python3 bench/tap_async_bench.py TAP_URL [N]   (N = 200)
Prints the median, p90 and max in milliseconds."""
import statistics
import sys
import time

import requests

tap = sys.argv[1].rstrip("/")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
s = requests.Session()
times = []
for i in range(n):
    t0 = time.perf_counter()
    r = s.post(tap + "/async", data={"LANG": "ADQL", "QUERY": "SELECT TOP 10 * FROM ivoa.obscore", "PHASE": "RUN"},
               allow_redirects=False)
    job = r.headers["Location"]
    while True:
        phase = s.get(job + "/phase").text
        if phase in ("COMPLETED", "ERROR", "ABORTED"):
            break
        s.get(job, params={"WAIT": "-1", "PHASE": phase})
    res = s.get(job + "/results/result")
    assert phase == "COMPLETED" and res.status_code == 200 and b"<TR>" in res.content
    times.append((time.perf_counter() - t0) * 1000)
    s.delete(job, allow_redirects=False)
times.sort()
print(f"async TOP 10, {n} jobs: median {statistics.median(times):.2f} ms, "
      f"p90 {times[int(0.9 * n) - 1]:.2f} ms, max {times[-1]:.2f} ms")
