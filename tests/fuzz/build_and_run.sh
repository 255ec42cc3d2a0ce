#!/bin/sh
# Builds the libFuzzer target of the ADQL parser and checker (clang-14,
# -fsanitize=fuzzer,address,undefined) outside the CMake build, seeds it with
# the lyonetia queries and runs it.
#
#   tests/fuzz/build_and_run.sh [SECONDS]   (default 600)
#
# Output: build-fuzz/ (binary, corpus, crash files); exit status non-zero when
# the fuzzer found a crash, leak or sanitizer report.
set -eu
SECONDS_TO_RUN=${1:-600}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_OUT:-$ROOT/build-fuzz}
mkdir -p "$OUT/corpus" "$OUT/artifacts"

CXX=${CXX:-clang++-14}
FLAGS="-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$ROOT"
"$CXX" $FLAGS "$ROOT/tests/fuzz/adql_fuzz.cpp" "$ROOT"/adql/*.cpp -o "$OUT/adql_fuzz"

# Seeds: every lyonetia query, once for each mode byte (syntax check / translation).
/usr/bin/python3 - "$ROOT/../shared/conformance/adql/lyonetia-cases.jsonl" "$OUT/corpus" <<'PY'
import json, sys, os, hashlib
src, out = sys.argv[1], sys.argv[2]
for line in open(src, encoding="utf-8"):
    q = json.loads(line)["adql"].encode("utf-8")
    for mode in (b"\x00", b"\x01"):
        data = mode + q
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)
PY

cd "$OUT"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ./adql_fuzz -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$OUT/artifacts/" -print_final_stats=1 corpus
