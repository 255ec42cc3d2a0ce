#!/bin/sh
# Issue 4 SODA engine benchmark (no HTTP): builds soda_tests in build-soda,
# generates /tmp/voserver_soda_bench.fits (160x160x3681 DATA/STAT/DQ, ~0.94 GB)
# on first use, times the cutouts with a counting sink, then times dd reading
# the same number of bytes from the same file (warm page cache).
set -e
cd "$(dirname "$0")/../.."
ninja -C build-soda -j2 soda_tests >/dev/null
out=$(./build-soda/soda_tests "[.bench]")
echo "$out" | grep -E '^\(|peak'
bytes=$(echo "$out" | sed -n 's/^BYTES_A=//p')
dd if="${VO_SODA_BENCH_FILE:-/tmp/voserver_soda_bench.fits}" of=/dev/null bs=1M count="$bytes" iflag=count_bytes 2>&1 | tail -1
