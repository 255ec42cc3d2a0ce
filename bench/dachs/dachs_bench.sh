#!/usr/bin/env bash
# Issue 14: the same TAP requests against voserver and GAVO DaCHS 2.7 on the
# same data, same machine, same run; figures and ratios go to bench/README.md
# ("Issue 14: DaCHS comparison").
#
#   bench/dachs/dachs_bench.sh [ROWS]      (ROWS synthetic rows, default 100000)
#
# Needs build/voserver, build/bench_gen_obscore, wrk, curl, and the bench-only
# Debian packages python3-gavo (DaCHS's library and `dachs` command, without
# the gavodachs2-server package whose postinst runs `dachs init` against a
# system PostgreSQL) and postgresql-15-q3c:
#   apt-get install --no-install-recommends python3-gavo postgresql-15-q3c
#
# What it does (set-up steps are skipped when already done):
#  1. the demo store (build-demo, as scripts/serve) and a store of ROWS rows
#     (build/bench_gen_obscore), each served by a voserver;
#  2. a private PostgreSQL 15 cluster (scripts/postgres, port VO_PG_PORT,
#     default 54359) with a database `gavo` (pgSphere loaded as a script);
#  3. a private DaCHS under DACHS_ROOT (default var/dachs): settings file
#     DACHS_ROOT/gavo.rc (GAVOSETTINGS), `dachs init` (dachs_init.py), the RD
#     vsbench/q.rd written by make_rd.py from voserver's TAP_SCHEMA, and
#     `dachs imp` of both tables exported from voserver's TAP as CSV;
#  4. `dachs serve start --foreground` on a free loopback port, then
#     measure.py and wrk against both servers, alternately;
#  5. everything it started is stopped at exit (the data stay).
# Environment: VO_PG_PORT, DACHS_ROOT, BENCH_DIR (voserver's side, default
# var/dachs-bench), N (requests per latency line, default 200), STREAM_RUNS (3),
# ASYNC_N (async jobs per server, 20).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
ROWS=${1:-100000}
N=${N:-200}
STREAM_RUNS=${STREAM_RUNS:-3}
ASYNC_N=${ASYNC_N:-20}
export VO_PG_PORT=${VO_PG_PORT:-54359}
DACHS_ROOT=${DACHS_ROOT:-$ROOT/var/dachs}
WORK=${BENCH_DIR:-$ROOT/var/dachs-bench}
PY=/usr/bin/python3
HERE=$ROOT/bench/dachs
source bench/lib.sh

for p in python3-gavo postgresql-15-q3c; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
    echo "dachs_bench: $p is not installed (apt-get install --no-install-recommends python3-gavo postgresql-15-q3c)" >&2
    exit 1
  }
done
command -v wrk > /dev/null || { echo "dachs_bench: wrk is not installed" >&2; exit 1; }

mkdir -p "$WORK"
PG_STARTED=0
DACHS_PID=""
cleanup() {
  [ -n "$DACHS_PID" ] && kill "$DACHS_PID" 2>/dev/null
  kill "${SERVER_PIDS[@]}" 2>/dev/null
  [ -n "$DACHS_PID" ] && wait "$DACHS_PID" 2>/dev/null
  if ((PG_STARTED)); then scripts/postgres stop > /dev/null; fi
  true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== $(date -u +%FT%TZ), load average $(cut -d" " -f1-3 /proc/loadavg)"
echo "== versions"
echo "voserver $(git rev-parse --short HEAD), DaCHS $(dpkg-query -W -f='${Version}' python3-gavo)," \
  "PostgreSQL $(dpkg-query -W -f='${Version}' postgresql-15), pgSphere $(dpkg-query -W -f='${Version}' postgresql-15-pgsphere)," \
  "q3c $(dpkg-query -W -f='${Version}' postgresql-15-q3c), Python $($PY -c 'import sys; print(sys.version.split()[0])')," \
  "Twisted $($PY -c 'import twisted; print(twisted.__version__)')"

# 1. voserver: the demo store and the synthetic one, each in its own server
build/voserver build-demo --config conf/voserver.toml --if-missing > /dev/null
BIG="$WORK/bench-$ROWS.sqlite"
[ -f "$BIG" ] || build/bench_gen_obscore "$BIG" "$ROWS"
write_bench_config "$WORK/demo.toml" "$ROOT/var/voserver.sqlite" "profiles = [\"$ROOT/conf/profiles/alma.toml\"]"
write_bench_config "$WORK/big.toml" "$BIG"
start_server build/voserver "$WORK/demo.toml" "$WORK/demo"
VOS_DEMO=http://127.0.0.1:$SERVER_PORT/tap
start_server build/voserver "$WORK/big.toml" "$WORK/big"
VOS_BIG=http://127.0.0.1:$SERVER_PORT/tap

# 2. PostgreSQL
if [ "$(scripts/postgres status)" != running ]; then
  scripts/postgres start > /dev/null
  PG_STARTED=1
fi
PSQL=(psql -X -q -h 127.0.0.1 -p "$VO_PG_PORT" -U postgres)

# 3. DaCHS: settings, init, RD, import
DACHS_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$DACHS_ROOT"
cat > "$DACHS_ROOT/gavo.rc" <<RC
[general]
rootDir: $DACHS_ROOT
# runs as the invoking user: no gavo user or group on this machine
group: $(id -gn)
gavoGroup: $(id -gn)
logLevel: warning

[web]
serverURL: http://127.0.0.1:$DACHS_PORT
bindAddress: 127.0.0.1
serverPort: $DACHS_PORT
user:
sitename: DaCHS comparison (voserver issue 14)

[ivoa]
authority: dachs.bench
RC
export GAVOSETTINGS="$DACHS_ROOT/gavo.rc" GAVOCUSTOM=/nonexistent
if ! "${PSQL[@]}" -d gavo -tAc "SELECT 1 FROM pg_tables WHERE schemaname = 'tap_schema' LIMIT 1" 2> /dev/null | grep -q 1; then
  scripts/postgres createdb gavo > /dev/null
  $PY "$HERE/dachs_init.py" -d "host=127.0.0.1 port=$VO_PG_PORT user=postgres dbname=gavo"
fi
IN="$DACHS_ROOT/inputs/vsbench"
mkdir -p "$IN"
COLQ="SELECT column_name, datatype, xtype, unit, ucd, utype, indexed FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore'"
export_table() {  # tap, name, rows
  curl -sf -o "$IN/$2_columns.csv" --data-urlencode "QUERY=$COLQ" -d LANG=ADQL -d RESPONSEFORMAT=csv "$1/sync"
  curl -sf -o "$IN/$2.csv" --data-urlencode "QUERY=SELECT * FROM ivoa.obscore" -d LANG=ADQL \
    -d RESPONSEFORMAT=csv -d MAXREC="$3" "$1/sync"
}
DEMO_ROWS=$(curl -sf --data-urlencode "QUERY=SELECT COUNT(*) FROM ivoa.obscore" -d LANG=ADQL -d RESPONSEFORMAT=csv "$VOS_DEMO/sync" | tail -1 | tr -d "\r")
have_rows() {  # table, rows: is vsbench.TABLE loaded with that many rows?
  [ "$("${PSQL[@]}" -d gavo -tAc "SELECT count(*) FROM vsbench.$1" 2> /dev/null)" = "$2" ]
}
if ! have_rows demo "$DEMO_ROWS" || ! have_rows big "$ROWS"; then
  export_table "$VOS_DEMO" demo "$DEMO_ROWS"
  export_table "$VOS_BIG" big "$ROWS"
  $PY "$HERE/make_rd.py" "$IN/q.rd" "demo=$IN/demo_columns.csv" "big=$IN/big_columns.csv"
  echo "== dachs imp vsbench/q ($DEMO_ROWS + $ROWS rows)"
  /usr/bin/time -f "dachs imp: %e s, %M kB peak" dachs imp vsbench/q
fi
have_rows demo "$DEMO_ROWS" && have_rows big "$ROWS" || { echo "dachs_bench: import incomplete" >&2; exit 1; }

# 4. serve and measure
dachs serve start --foreground > "$WORK/dachs-serve.log" 2>&1 &
DACHS_PID=$!
DACHS=http://127.0.0.1:$DACHS_PORT/tap
for _ in $(seq 300); do
  curl -sf -o /dev/null "$DACHS/availability" && break
  kill -0 "$DACHS_PID" 2> /dev/null || { cat "$WORK/dachs-serve.log" >&2; exit 1; }
  sleep 0.2
done

echo "== TAP sync latency over one kept-alive connection ($N requests each, alternating; ms)"
lat() {  # vos_tap, table-suffix, name, query
  $PY "$HERE/measure.py" latency "$1" "$DACHS" ivoa.obscore "vsbench.$2" "$N" "$3" "$4"
}
for t in demo big; do
  vt=$VOS_DEMO; [ $t = big ] && vt=$VOS_BIG
  lat "$vt" $t "$t:top10" "SELECT TOP 10 * FROM {table}"
  lat "$vt" $t "$t:cone0.1" "SELECT * FROM {table} WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, 0.1)) = 1"
  lat "$vt" $t "$t:cone1" "SELECT * FROM {table} WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, 1)) = 1"
  lat "$vt" $t "$t:groupby" "SELECT obs_collection, COUNT(*) AS n FROM {table} GROUP BY obs_collection"
done
# the demo's products are near a few galaxies: cones around them find rows
lat "$VOS_DEMO" demo "demo:cone0.1-NGC0628" "SELECT * FROM {table} WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 24.17, 15.78, 0.1)) = 1"

echo "== TAP async round trip, TOP 10 of the $ROWS-row table (as pyvo's run_async; $ASYNC_N jobs each)"
echo "voserver: $($PY "$HERE/measure.py" async "$VOS_BIG" ivoa.obscore "$ASYNC_N")"
echo "dachs:    $($PY "$HERE/measure.py" async "$DACHS" vsbench.big "$ASYNC_N")"

echo "== SELECT * of $ROWS rows (MAXREC=$ROWS): one run checked by measure.py (rows counted), then $STREAM_RUNS timed by curl"
curl_stream() {  # tap, table, format: seconds to the last byte, rows/s, bytes (curl into /dev/null)
  curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' --data-urlencode "QUERY=SELECT * FROM $2" \
    -d REQUEST=doQuery -d LANG=ADQL -d RESPONSEFORMAT="$3" -d MAXREC="$ROWS" "$1/sync" |
    awk -v n="$ROWS" -v f="$3" '{printf "fmt=%s rows=%d secs=%.3f rows_per_s=%.0f bytes=%d\n", f, n, $1, n / $1, $2}'
}
# DaCHS names BINARY VOTable "votable" (its default); voserver's "votable" is TABLEDATA
for fmt in votable/td votable/b votable/b2 csv; do
  dfmt=$fmt; [ "$fmt" = votable/b ] && dfmt=votable
  echo "voserver checked: $($PY "$HERE/measure.py" stream "$VOS_BIG" ivoa.obscore "$fmt" "$ROWS")"
  echo "dachs    checked: $($PY "$HERE/measure.py" stream "$DACHS" vsbench.big "$dfmt" "$ROWS")"
  for run in $(seq "$STREAM_RUNS"); do
    echo "voserver run $run: $(curl_stream "$VOS_BIG" ivoa.obscore "$fmt")"
    echo "dachs    run $run: $(curl_stream "$DACHS" vsbench.big "$dfmt")"
  done
done

# --timeout 30s: DaCHS answers 16 clients in about 2 s each, wrk's default
# timeout; requests over it would be counted as socket errors, not latencies
echo "== TOP 10 of the $ROWS-row table, 16 clients (wrk -t2 -c16 -d10s --timeout 30s)"
q10() { printf '%s/sync?REQUEST=doQuery&LANG=ADQL&RESPONSEFORMAT=votable/td&QUERY=SELECT%%20TOP%%2010%%20*%%20FROM%%20%s' "$1" "$2"; }
for round in 1 2; do
  for s in voserver dachs; do
    if [ $s = voserver ]; then url=$(q10 "$VOS_BIG" ivoa.obscore); else url=$(q10 "$DACHS" vsbench.big); fi
    echo "round $round $s: $(wrk -t2 -c16 -d10s --timeout 30s --latency "$url" | awk '/50%/ {m=$2} /99%/ {p=$2} /requests in/ {n=$1} /Requests\/sec/ {r=$2} /Non-2xx/ {e=$NF} /Socket errors/ {se=$0} END {print "requests=" n " req_per_s=" r " median=" m " p99=" p " non2xx=" (e ? e : 0) (se ? " " se : "")}')"
    # DaCHS goes on answering the requests wrk left queued; let it drain
    if [ $s = dachs ]; then sleep 5; fi
  done
done

echo "== server peak memory (VmHWM)"
echo "voserver (big): $(awk '/VmHWM/ {print $2 " kB"}' /proc/"${SERVER_PIDS[1]}"/status), dachs: $(awk '/VmHWM/ {print $2 " kB"}' /proc/"$DACHS_PID"/status)"
echo "== $(date -u +%FT%TZ), load average $(cut -d" " -f1-3 /proc/loadavg)"
