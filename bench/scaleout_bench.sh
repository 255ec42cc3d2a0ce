#!/usr/bin/env bash
# Scale-out benchmark (issue 11): voserver instances sharing one PostgreSQL
# behind HAProxy. Figures go to bench/README.md.
#  - bulk ingest rate into PostgreSQL (build/bench_gen_obscore into a fresh database),
#  - requests per second of SELECT TOP 10 * with 16 clients (wrk): one instance
#    directly, one instance behind HAProxy, two instances behind HAProxy.
# Usage: bench/scaleout_bench.sh [ROWS]   (needs build/voserver, build/bench_gen_obscore,
#        the cluster of scripts/postgres start, haproxy and wrk)
# ROWS_PER_COMMIT (default 0: one transaction, i.e. a bulk load into the empty
# table; 100000 commits every 100,000 rows, so all but the first transaction
# are incremental merges). INGEST_ONLY=1 stops after the ingest.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROWS=${1:-100000}
WORK=${BENCH_DIR:-/tmp/voserver-scaleout}
PGPORT=${VO_PG_PORT:-54329}
DB=voserver_scaleout
rm -rf "$WORK" && mkdir -p "$WORK"
scripts/postgres dropdb $DB >/dev/null 2>&1 || true
scripts/postgres createdb $DB >/dev/null
WRITER="postgresql://voserver_writer@127.0.0.1:$PGPORT/$DB"
READER="postgresql://voserver_reader@127.0.0.1:$PGPORT/$DB"
echo "== bulk ingest into PostgreSQL (${ROWS_PER_COMMIT:-0} rows per commit, 0: one transaction)"
build/bench_gen_obscore "$WRITER" "$ROWS" 42 "${ROWS_PER_COMMIT:-0}" 2>/dev/null
if [ -n "${INGEST_ONLY:-}" ]; then scripts/postgres dropdb $DB >/dev/null 2>&1 || true; exit 0; fi

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
LB=$(free_port)
cat > "$WORK/voserver.toml" <<TOML
[server]
host = "127.0.0.1"
port = 0
threads = 2
query_workers = 4
base_url = "http://127.0.0.1:$LB"
trusted_proxies = ["127.0.0.1"]
[archive]
authority = "bench"
database = "$WRITER"
query_database = "$READER"
jobs_database = "$WRITER"
results_dir = "$WORK/results"
[limits]
maxrec_default = 10000
# all wrk connections come from one address (and through HAProxy from its address)
max_queries_per_client = 64
TOML
# (the instances' PIDs are in SERVER_PIDS, HAProxy's in PIDS)
PIDS=()
trap 'kill ${SERVER_PIDS[*]} ${PIDS[*]} 2>/dev/null || true; scripts/postgres dropdb '$DB' >/dev/null 2>&1 || true' EXIT
start_server build/voserver "$WORK/voserver.toml" "$WORK/a"
PA=$SERVER_PORT
start_server build/voserver "$WORK/voserver.toml" "$WORK/b"
PB=$SERVER_PORT
haproxy_with() {  # backends...
  {
    printf 'defaults\n  mode http\n  option forwardfor\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n'
    printf 'frontend f\n  bind 127.0.0.1:%s\n  default_backend b\nbackend b\n  balance %s\n  http-reuse always\n' "$LB" "${BALANCE:-roundrobin}"
    for p in "$@"; do printf '  server s%s 127.0.0.1:%s\n' "$p" "$p"; done
  } > "$WORK/haproxy.cfg"
  haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 &
  HPID=$!
  PIDS+=($HPID)
  sleep 0.5
}
Q="/tap/sync?LANG=ADQL&QUERY=SELECT%20TOP%2010%20*%20FROM%20ivoa.obscore"
curl -sf "http://127.0.0.1:$PA$Q" > /dev/null
curl -sf "http://127.0.0.1:$PB$Q" > /dev/null
echo "== TOP 10, 16 clients, the other instance directly (warm-up and reference)"
wrk -t2 -c16 -d5s --latency "http://127.0.0.1:$PB$Q" | grep -E "50%|99%|Requests/sec"
echo "== TOP 10, 16 clients, one instance directly"
wrk -t2 -c16 -d10s --latency "http://127.0.0.1:$PA$Q" | grep -E "50%|99%|Requests/sec"
haproxy_with "$PA"
echo "== TOP 10, 16 clients, HAProxy + one instance"
wrk -t2 -c16 -d10s --latency "http://127.0.0.1:$LB$Q" | grep -E "50%|99%|Requests\/sec|Non-2xx|errors"
kill $HPID; wait $HPID 2>/dev/null || true
haproxy_with "$PA" "$PB"
echo "== TOP 10, 16 clients, HAProxy + two instances"
wrk -t2 -c16 -d10s --latency "http://127.0.0.1:$LB$Q" | grep -E "50%|99%|Requests\/sec|Non-2xx|errors"
