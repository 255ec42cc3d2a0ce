#!/usr/bin/env bash
# The spatial queries of bench/adql_spatial.py on PostgreSQL and on SQLite,
# alternated, each store warm and alone in memory for its turn (issue 11's
# comparison; bench/README.md, "Memory").
#
#   bench/pg_vs_sqlite.sh PG_DATABASE SQLITE_STORE
#
# PG_DATABASE is a database of the private cluster (scripts/postgres) holding
# the same generated rows as SQLITE_STORE (build/bench_gen_obscore with the
# same N and seed). Per round: the kernel's page cache is dropped, the cluster
# started with VO_PG_SHARED_BUFFERS (default 8GB) and, if HUGE_PAGES (a count
# of 2 MB pages, default 4400) is not 0, that many huge pages reserved for it;
# ivoa.obscore and its indexes are read into shared buffers (`scripts/postgres
# prewarm`), the queries run; then the cluster stops, the huge pages are
# released, the page cache is dropped again, the SQLite store is read into it
# (cat) and the same queries run on SQLite.
#
# Environment: N (queries of each kind, default 30), ROUNDS (default "1 2").
# Needs root (drop_caches, vm.nr_hugepages). Leaves the cluster stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
db=${1:?usage: bench/pg_vs_sqlite.sh PG_DATABASE SQLITE_STORE}
store=${2:?usage: bench/pg_vs_sqlite.sh PG_DATABASE SQLITE_STORE}
[ "$(id -u)" = 0 ] || { echo "bench/pg_vs_sqlite.sh: needs root (drop_caches, huge pages)" >&2; exit 2; }
export VO_PG_SHARED_BUFFERS=${VO_PG_SHARED_BUFFERS:-8GB}
huge=${HUGE_PAGES:-4400}
n=${N:-30}
port=${VO_PG_PORT:-54329}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

for round in ${ROUNDS:-1 2}; do
  drop_caches
  [ "$huge" = 0 ] || sysctl -qw vm.nr_hugepages="$huge"
  scripts/postgres start >/dev/null
  scripts/postgres prewarm "$db"
  echo "== round $round PostgreSQL ($(date -u +%H:%M:%S); shared_buffers $VO_PG_SHARED_BUFFERS," \
    "$(grep HugePages_Total /proc/meminfo | tr -s ' ') huge pages)"
  QUERY_DATABASE="postgresql://voserver_reader@127.0.0.1:$port/$db" bench/adql_spatial.py "$store" "$n" | tail -6
  scripts/postgres stop >/dev/null
  [ "$huge" = 0 ] || sysctl -qw vm.nr_hugepages=0
  drop_caches
  cat "$store"* >/dev/null
  echo "== round $round SQLite ($(date -u +%H:%M:%S))"
  bench/adql_spatial.py "$store" "$n" | tail -6
done
