#!/bin/sh
# Issue 4 SODA engine benchmark (no HTTP), see bench/soda/README.md.
#   bench/soda/run.sh [build-dir]     (default build-soda)
# Builds soda_tests, generates $VO_SODA_BENCH_FILE (default
# /tmp/voserver_soda_bench.fits: 160x160x3681 DATA/STAT float32 + DQ int16,
# 0.94 GB) on first use, puts it in the page cache the way a server finds a
# file it has read before (drop its cached pages, then one sequential read:
# the kernel's readahead caches it in large folios; freshly written pages are
# small folios, which make every reader slower), then runs the hidden
# "[.bench]" case: cutouts (a) and (b) to a counting sink, interleaved with
# read() of the same number of bytes, wall and CPU times, peak RSS. Finally dd
# of the same bytes from the same file, as the issue asks.
set -e
cd "$(dirname "$0")/../.."
build=${1:-build-soda}
file=${VO_SODA_BENCH_FILE:-/tmp/voserver_soda_bench.fits}
ninja -C "$build" -j2 soda_tests >/dev/null
[ -f "$file" ] || "./$build/soda_tests" "[.bench-b]" >/dev/null
dd if="$file" iflag=nocache count=0 2>/dev/null
cat "$file" >/dev/null
out=$("./$build/soda_tests" "[.bench]")
echo "$out" | grep -E '^\(|^    |peak'
bytes=$(echo "$out" | sed -n 's/^BYTES_A=//p')
dd if="$file" of=/dev/null bs=1M count="$bytes" iflag=count_bytes 2>&1 | tail -1
