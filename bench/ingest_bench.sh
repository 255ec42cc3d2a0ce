#!/usr/bin/env bash
# Ingest rate (issue 14: at least 1,000 FITS headers per second, small files,
# page cache warm). Replicates the sample products of ../shared/data/fits to
# N files (hard links under distinct names, so each is a product of its own),
# ingests them into a fresh SQLite store with `voserver ingest` and prints files
# per second (wall) and the process's CPU time; the page cache is warmed by one
# read of every file first. Figures go to bench/README.md.
# Usage: bench/ingest_bench.sh [N]   (default 10000; needs build/voserver)
#        VOSERVER=path measures another build on the same files.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
WORK=${BENCH_DIR:-/tmp/voserver-ingest-bench}
VS=${VOSERVER:-build/voserver}
mkdir -p "$WORK"
SRC=$(cd ../shared/data/fits && pwd)
mapfile -t samples < <(find "$SRC" -type f \( -name '*.fits' -o -name '*.fits.gz' -o -name '*.fit' \) | sort)
if [ "$(find "$WORK/files" -type f 2>/dev/null | wc -l)" -ne "$N" ]; then
  rm -rf "$WORK/files" && mkdir -p "$WORK/files"
  for ((i = 0; i < N; i++)); do
    s=${samples[$((i % ${#samples[@]}))]}
    d="$WORK/files/$((i / 1000))"
    mkdir -p "$d"
    # a hard link (a copy when the samples are on another file system), each under a name of its own
    ln "$s" "$d/r${i}_$(basename "$s")" 2>/dev/null || cp "$s" "$d/r${i}_$(basename "$s")"
  done
fi
cat > "$WORK/voserver.toml" <<TOML
[archive]
authority = "bench"
database = "$WORK/store.sqlite"
[[collection]]
name = "bench"
directories = ["$WORK/files"]
TOML
cat "$WORK"/files/*/* > /dev/null
rm -f "$WORK/store.sqlite"*
echo "== $N files ($(du -sh "$WORK/files" | cut -f1)), ${#samples[@]} distinct samples, load average $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "%e s wall, %U s user, %S s sys, max RSS %M kB" "$VS" ingest "$WORK/files" --collection bench \
  --config "$WORK/voserver.toml" > "$WORK/ingest.log" 2> "$WORK/time.log" || { tail "$WORK/ingest.log" "$WORK/time.log"; exit 1; }
tail -1 "$WORK/time.log"
tail -2 "$WORK/ingest.log"
wall=$(tail -1 "$WORK/time.log" | cut -d' ' -f1)
echo "files per second: $(echo "$N / $wall" | bc)"
