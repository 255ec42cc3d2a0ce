#!/usr/bin/env bash
# TAP benchmark (issue "Serve a real archive"): figures go to bench/README.md.
#  - median latency of SELECT TOP 10 * FROM ivoa.obscore over loopback (1 client),
#  - requests per second with 16 concurrent clients (wrk),
#  - rows per second streaming a 1,000,000-row result as TABLEDATA, BINARY2 and CSV,
#  - the server's peak memory (VmHWM) during the stream, compared with a 10,000-row stream.
# Usage: bench/tap_bench.sh [ROWS]   (needs build/voserver and build/bench_gen_obscore;
#        VOSERVER=path/to/voserver measures another build, e.g. the previous commit's, on the same store)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROWS=${1:-1000000}
WORK=${BENCH_DIR:-/tmp/voserver-bench}
mkdir -p "$WORK"
STORE="$WORK/bench-$ROWS.sqlite"
if [ ! -f "$STORE" ]; then
  build/bench_gen_obscore "$STORE" "$ROWS"
fi
write_bench_config "$WORK/bench.toml" "$STORE"
# port 0: the server picks a free port and writes it to --port-file once it accepts
rm -f "$WORK/port"
"${VOSERVER:-build/voserver}" serve --config "$WORK/bench.toml" --port 0 --port-file "$WORK/port" > "$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for i in $(seq 600); do
  [ -s "$WORK/port" ] && break
  kill -0 $PID 2>/dev/null && [ "$i" -lt 600 ] || { cat "$WORK/server.log"; exit 1; }
  sleep 0.1
done
PORT=$(cat "$WORK/port")

URL="http://127.0.0.1:$PORT/tap/sync?LANG=ADQL&QUERY=SELECT%20TOP%2010%20*%20FROM%20ivoa.obscore"
echo "== TOP 10, 1 client (wrk -t1 -c1 -d10s --latency)"
wrk -t1 -c1 -d10s --latency "$URL" | grep -E "50%|90%|99%|Requests/sec"
echo "== TOP 10, 16 clients (wrk -t2 -c16 -d10s)"
wrk -t2 -c16 -d10s --latency "$URL" | grep -E "50%|99%|Requests/sec|Non-2xx"

hwm() { awk '/VmHWM/ {print $2}' /proc/$PID/status; }
# Writing 5 to clear_refs resets VmHWM (Linux >= 4.0), so each stream's peak is its own.
reset_hwm() { echo 5 > /proc/$PID/clear_refs 2>/dev/null || true; }
echo "peak memory before streams: $(hwm) kB"
echo "== reference: sqlite3 -csv reading every column of the same table into /dev/null"
start=$(date +%s.%N)
sqlite3 -csv "$STORE" "SELECT * FROM ivoa_obscore" > /dev/null
end=$(date +%s.%N)
secs=$(echo "$end - $start" | bc -l)
printf "%-8s %8d rows: %6.2f s, %8.0f rows/s\n" "sqlite3" "$ROWS" "$secs" "$(echo "$ROWS / $secs" | bc -l)"
echo "== streams (SELECT *, MAXREC=rows); peak = VmHWM during that stream alone"
for fmt in votable votable/b votable/b2 csv tsv fits; do
  for n in 10000 $ROWS; do
    reset_hwm
    start=$(date +%s.%N)
    bytes=$(curl -s -o /dev/null -w '%{size_download}' \
      "http://127.0.0.1:$PORT/tap/sync?LANG=ADQL&MAXREC=$n&RESPONSEFORMAT=$fmt&QUERY=SELECT%20*%20FROM%20ivoa.obscore")
    end=$(date +%s.%N)
    secs=$(echo "$end - $start" | bc -l)
    printf "%-10s %8d rows: %6.2f s, %8.0f rows/s, %7.1f MB, peak memory %s kB\n" \
      "$fmt" "$n" "$secs" "$(echo "$n / $secs" | bc -l)" "$(echo "$bytes / 1000000" | bc -l)" "$(hwm)"
  done
done
