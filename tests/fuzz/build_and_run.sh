#!/bin/sh
# Builds the libFuzzer targets of tests/fuzz (clang-14,
# -fsanitize=fuzzer,address,undefined; units that include S2 headers without
# ASan, see Makefile) outside the CMake build, seeds them and runs each one.
#
#   tests/fuzz/build_and_run.sh [SECONDS] [TARGET...]   run (default: 60 s, all targets)
#   tests/fuzz/build_and_run.sh replay [TARGET...]      run the saved crash inputs
#                                                       (tests/fuzz/crashes/<target>/) once
#
# Targets: adql_fuzz params_fuzz soda_fuzz geometry_fuzz fits_fuzz (README.md).
#
# Environment:
#   FUZZ_OUT=dir        build and run directory (default <checkout>/build-fuzz)
#   FUZZ_PARALLEL=n     run n targets at a time (default 1; 2 on an idle 2-core machine)
#   FUZZ_KEEP_GOING=1   libFuzzer -fork=1 -ignore_crashes=1: go on after a crash, leak,
#                       timeout or OOM and keep every crash input (for long runs)
#   FUZZ_DEBUG_CHECKS=1 build without -DNDEBUG (S2 debug checks and assert() on),
#                       in build-fuzz-debug unless FUZZ_OUT is set
#   FUZZ_JOBS=n         make -j (default 2)
#   CXX=...             compiler (default clang++-14)
#
# Output in $FUZZ_OUT: the binaries, obj/ (cached objects: a second run only
# rebuilds what changed), seeds/<target> (regenerated), corpus/<target>
# (grows from run to run), artifacts/<target>/ (crash, leak, timeout and oom
# inputs), logs/<target>.log, and summary.txt (one line per target: seconds,
# executions, exec/s, corpus size, coverage, features, result).
# Exit status: 0 when no target found anything, 1 otherwise (2: build failed).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ="$ROOT/tests/fuzz"
if [ "${FUZZ_DEBUG_CHECKS:-0}" = 1 ]; then NDEBUG=0; OUT=${FUZZ_OUT:-$ROOT/build-fuzz-debug}
else NDEBUG=1; OUT=${FUZZ_OUT:-$ROOT/build-fuzz}; fi
ALL_TARGETS="adql_fuzz params_fuzz soda_fuzz geometry_fuzz fits_fuzz"
SHARED=$(cd "$ROOT/.." && pwd)/shared
[ -d "$SHARED" ] || SHARED=${VO_SHARED_DIR:-$SHARED}

REPLAY=0
SECONDS_TO_RUN=60
if [ $# -gt 0 ]; then
  case "$1" in
    replay) REPLAY=1; shift ;;
    *[!0-9]*) ;;
    *) SECONDS_TO_RUN=$1; shift ;;
  esac
fi
TARGETS=${*:-$ALL_TARGETS}
for t in $TARGETS; do
  case " $ALL_TARGETS " in *" $t "*) ;; *) echo "unknown target $t (known: $ALL_TARGETS)" >&2; exit 2 ;; esac
done

# ---- build
start=$(date +%s)
mkdir -p "$OUT"
if ! make -s -f "$FUZZ/Makefile" ROOT="$ROOT" OUT="$OUT" NDEBUG=$NDEBUG CXX="${CXX:-clang++-14}" -j"${FUZZ_JOBS:-2}" $TARGETS; then
  echo "fuzz build failed" >&2
  exit 2
fi
echo "== build: $(( $(date +%s) - start )) s"

max_len() {
  case "$1" in
    adql_fuzz|fits_fuzz) echo 65536 ;;
    params_fuzz) echo 16384 ;;
    geometry_fuzz) echo 8192 ;;
    soda_fuzz) echo 4096 ;;
  esac
}
dict() { echo "$FUZZ/dict/${1%_fuzz}.dict"; }

# allocator_may_return_null=1: an impossible allocation (e.g. CFITSIO's calloc
# of petabytes for a damaged table header) returns NULL, as glibc's does in the
# shipped server, and the library reports an error; real memory growth is
# still caught by -rss_limit_mb.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$FUZZ/lsan.supp:${LSAN_OPTIONS:-}"
export VO_FUZZ_FITS_DIR="$SHARED/data/fits"

# ---- replay of saved crash inputs
if [ "$REPLAY" = 1 ]; then
  status=0
  for t in $TARGETS; do
    dir="$FUZZ/crashes/$t"
    [ -d "$dir" ] || continue
    for f in "$dir"/*; do
      case "$f" in *.txt|*.md|*'*') continue ;; esac
      if "$OUT/$t" -timeout=10 -rss_limit_mb=2048 "$f" >"$OUT/replay.log" 2>&1; then
        echo "fixed   $t $(basename "$f")"
      else
        why=$(grep -m1 -E 'FATAL|runtime error|==[0-9]+== ?ERROR|buffer overflow detected|out-of-memory|timeout after' "$OUT/replay.log" || echo '?')
        echo "CRASHES $t $(basename "$f"): $(echo "$why" | cut -c1-160)"
        status=1
      fi
    done
  done
  exit $status
fi

# ---- fuzzing
run_one() {
  t=$1
  mkdir -p "$OUT/seeds/$t" "$OUT/corpus/$t" "$OUT/artifacts/$t" "$OUT/logs"
  rm -f "$OUT/seeds/$t"/*
  /usr/bin/python3 "$FUZZ/seeds.py" "$t" "$OUT/seeds/$t" "$SHARED"
  extra=""
  if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
    extra="-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
  fi
  t0=$(date +%s)
  # shellcheck disable=SC2086
  if (cd "$OUT" && exec nice -n 10 "./$t" -max_total_time="$SECONDS_TO_RUN" -max_len="$(max_len "$t")" \
        -dict="$(dict "$t")" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$OUT/artifacts/$t/" $extra "corpus/$t" "seeds/$t") >"$OUT/logs/$t.log" 2>&1; then
    rc=0
  else
    rc=1
  fi
  elapsed=$(( $(date +%s) - t0 ))
  # A fork-mode run exits 0 even when a child crashed: count the artifacts.
  # slow-unit-* files are libFuzzer's notes of inputs slower than 10 s (not
  # failures: a machine under load makes them); timeouts (-timeout) still count.
  found=$(find "$OUT/artifacts/$t" -type f -newer "$OUT/logs/.start-$t" ! -name 'slow-unit-*' | wc -l)
  [ "$found" -gt 0 ] && rc=1
  log="$OUT/logs/$t.log"
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  [ -n "$execs" ] || execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.*corp: \([0-9][0-9/A-Za-z]*\).*/\1/p')
  if [ -z "$speed" ] && [ -n "$execs" ] && [ "$elapsed" -gt 0 ]; then speed=$((execs / elapsed)); fi
  if [ $rc = 0 ]; then result=ok; else result="FOUND $found input(s) in artifacts/$t: $(grep -m1 -E 'FATAL|runtime error|==[0-9]+== ?ERROR|buffer overflow detected|timeout after|out-of-memory' "$log" | cut -c1-150 || echo 'see log')"; fi
  echo "$t ${elapsed}s execs=${execs:-?} exec/s=${speed:-?} corpus=${corp:-?} cov=${cov:-?} ft=${ft:-?} $result" >"$OUT/logs/$t.summary"
  return $rc
}

: >"$OUT/summary.txt"
status=0
running=""
count=0
for t in $TARGETS; do
  mkdir -p "$OUT/logs"
  touch "$OUT/logs/.start-$t"
  echo "== $t: ${SECONDS_TO_RUN} s"
  if [ "${FUZZ_PARALLEL:-1}" -le 1 ]; then
    run_one "$t" || status=1
    cat "$OUT/logs/$t.summary" | tee -a "$OUT/summary.txt"
  else
    run_one "$t" &
    running="$running $!:$t"
    count=$((count + 1))
    if [ "$count" -ge "${FUZZ_PARALLEL}" ]; then
      for job in $running; do
        wait "${job%%:*}" || status=1
        tee -a "$OUT/summary.txt" <"$OUT/logs/${job#*:}.summary"
      done
      running=""
      count=0
    fi
  fi
done
for job in $running; do
  wait "${job%%:*}" || status=1
  tee -a "$OUT/summary.txt" <"$OUT/logs/${job#*:}.summary"
done
echo "== total: $(( $(date +%s) - start )) s; summary in $OUT/summary.txt"
exit $status
