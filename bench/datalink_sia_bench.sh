#!/usr/bin/env bash
# DataLink, SIAv2, downloads and previews (issue 10): figures go to bench/README.md.
#  - DataLink {links} for one ID (wrk, 1 client) and for 100 IDs in one POST (median of 30),
#  - SIAv2 POS+BAND (wrk, 1 client),
#  - download MB/s of a ~1 GB cube from /datalink/file and from nginx (sendfile on) in the same run,
#  - preview generation time of that cube (first request), and a stored preview's request time.
# Usage: bench/datalink_sia_bench.sh   (needs build/voserver, wrk, /usr/bin/python3 with numpy and
# astropy; nginx optional: `apt-get install nginx-light`, not part of scripts/setup)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROOT=$(pwd)
WORK=${BENCH_DIR:-/tmp/voserver-bench-dl}
mkdir -p "$WORK/big"
BIG="$WORK/big/bench_cube_1gb.fits"
if [ ! -f "$BIG" ]; then  # 300 x 300 x 3000 float32 (1.08 GB), written plane by plane
  /usr/bin/python3 - "$BIG" <<'PY'
import sys, numpy as np
from astropy.io import fits
nx, ny, nz = 300, 300, 3000
h = fits.Header()
for k, v in {"SIMPLE": True, "BITPIX": -32, "NAXIS": 3, "NAXIS1": nx, "NAXIS2": ny, "NAXIS3": nz,
             "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CTYPE3": "AWAV", "CUNIT3": "Angstrom",
             "CRVAL1": 53.16, "CRVAL2": -27.78, "CRPIX1": 150.0, "CRPIX2": 150.0, "CDELT1": -5.5e-5, "CDELT2": 5.5e-5,
             "CRVAL3": 4750.0, "CRPIX3": 1.0, "CDELT3": 1.25, "BUNIT": "10**-20 erg/s/cm2/Angstrom"}.items():
    h[k] = v
h.tofile(sys.argv[1], overwrite=True)
rng = np.random.default_rng(1)
with open(sys.argv[1], "ab") as f:
    for z in range(nz):
        f.write(rng.normal(0, 1, (ny, nx)).astype(">f4").tobytes())
    pad = (-(nx * ny * nz * 4)) % 2880
    f.write(b"\0" * pad)
PY
fi
cat > "$WORK/bench.toml" <<TOML
[server]
host = "127.0.0.1"
port = 0
threads = 2
[archive]
authority = "bench"
database = "$WORK/store.sqlite"
previews_dir = "$WORK/previews"
profiles = ["$ROOT/conf/profiles/alma.toml"]
[[collection]]
name = "samples"
directories = ["$ROOT/../shared/data/fits"]
proprietary_months = 12
[[collection]]
name = "big"
directories = ["$WORK/big"]
TOML
rm -f "$WORK"/store.sqlite* ; rm -rf "$WORK/previews"
build/voserver ingest "$ROOT/../shared/data/fits" --collection samples --config "$WORK/bench.toml" > /dev/null
build/voserver ingest "$WORK/big" --collection big --config "$WORK/bench.toml" > /dev/null
trap 'kill ${SERVER_PIDS[*]} 2>/dev/null || true' EXIT
start_server build/voserver "$WORK/bench.toml" "$WORK"
PID=$SERVER_PID
BASE="http://127.0.0.1:$SERVER_PORT"
enc() { /usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
CUBE=$(enc "ivo://bench/samples?udf_mosaic_subcube")
BIGID=$(enc "ivo://bench/big?bench_cube_1gb")

echo "== DataLink one ID, MUSE cube (wrk -t1 -c1 -d10s --latency)"
curl -s -o /dev/null "$BASE/datalink/sync?ID=$CUBE"   # the bounds cache
wrk -t1 -c1 -d10s --latency "$BASE/datalink/sync?ID=$CUBE" | grep -E " 50%| 99%|Requests/sec"
echo "== SIAv2 POS + BAND (wrk -t1 -c1 -d10s --latency)"
wrk -t1 -c1 -d10s --latency "$BASE/sia2/query?POS=CIRCLE%2053.16%20-27.78%200.01&BAND=5e-7%206e-7" | grep -E " 50%| 99%|Requests/sec"
echo "== DataLink POST of 100 IDs (29 products + 71 unknown), median of 30"
/usr/bin/python3 - "$BASE" <<'PY'
import sys, time, statistics, requests
base = sys.argv[1]
s = requests.Session()
r = s.get(base + "/tap/sync", params={"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_collection = 'samples'",
                                      "RESPONSEFORMAT": "csv"})
ids = r.text.split()[1:]
ids += ["ivo://bench/samples?missing%d" % i for i in range(100 - len(ids))]
times = []
for _ in range(30):
    t = time.perf_counter()
    r = s.post(base + "/datalink/sync", data={"ID": ids})
    times.append(time.perf_counter() - t)
    assert r.status_code == 200
print(f"{len(ids)} IDs: median {statistics.median(times) * 1000:.2f} ms, {len(r.content)} bytes")
PY

SIZE=$(stat -c %s "$BIG")
mbps() { echo "scale=0; $SIZE / $1 / 1000000" | bc -l; }
echo "== download of the $SIZE-byte cube (curl -o /dev/null, 3 runs each; page cache warm)"
cat "$BIG" > /dev/null
for run in 1 2 3; do
  t=$(curl -s -o /dev/null -w "%{time_total}" "$BASE/datalink/file?ID=$BIGID")
  echo "voserver run $run: $t s, $(mbps "$t") MB/s"
done
if start_nginx "$WORK/big" "$WORK/nginx"; then
  for run in 1 2 3; do
    t=$(curl -s -o /dev/null -w "%{time_total}" "http://127.0.0.1:$NGINX_PORT/bench_cube_1gb.fits")
    echo "nginx run $run: $t s, $(mbps "$t") MB/s"
  done
else
  echo "nginx reference skipped"
fi

echo "== previews of the cube: first request (makes peak, mean and spectrum), then a stored one"
t=$(curl -s -o /dev/null -w "%{time_total}" "$BASE/datalink/preview?ID=$BIGID&KIND=peak")
echo "first (generation): $t s for $SIZE bytes, $(echo "scale=2; $t * 1000000000 / $SIZE" | bc -l) s/GB"
grep VmHWM /proc/$PID/status
t=$(curl -s -o /dev/null -w "%{time_total}" "$BASE/datalink/preview?ID=$BIGID&KIND=mean")
echo "stored: $t s"
