#!/usr/bin/env bash
# Issue 4 SODA benchmark over HTTP (see bench/README.md, "SODA cutouts").
#
#   bench/soda/http_bench.sh [build-dir] [runs]     (default build-sodahttp, 9)
#
# 1. Generates one PHANGS-MUSE-format demo cube of 160 x 160 x 3681 (DATA and
#    STAT float32, DQ, about 0.94 GB) with `voserver make-demo` into
#    $VO_BENCH_DIR (default /tmp/sodahttp_bench/demo) on first use: make-demo
#    writes the 19 galaxies one after the other, it is stopped after the first.
# 2. Ingests it into a store under $VO_BENCH_DIR/.. and serves it on a free
#    loopback port (--port 0; query_workers = 2, threads = 2).
# 3. Warms the page cache the way a server finds a product it has served
#    before (drop the file's pages, then one sequential read: see
#    bench/soda/README.md on folio sizes).
# 4. Fresh server: (b) CIRCLE 5 arcsec + BAND 5 nm, `runs` times, then
#    VmHWM; then (a) CIRCLE 5 arcsec over all channels, `runs` times, each
#    followed by `dd bs=1M` of the same number of bytes from the same file;
#    VmHWM again; finally the same number of bytes from a zero-work HTTP
#    sender (bench/soda/loopback_reference.py): the transport floor, and
#    from nginx (sendfile on) serving a file of the same size (issue 14's
#    reference; skipped when nginx is not installed). Times
#    are curl's time_total (connect to last byte) with -o /dev/null; the
#    median and best are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
build=${1:-build-sodahttp}
runs=${2:-9}
dir=${VO_BENCH_DIR:-/tmp/sodahttp_bench/demo}
work=$(dirname "$dir")
vs="./$build/voserver"
[ -x "$vs" ] || { echo "no $vs: build it first (ninja -C $build voserver)"; exit 1; }
mkdir -p "$dir"

cube=$(ls "$dir"/*_PHANGS_DATACUBE_native.fits 2>/dev/null | head -1 || true)
if [ -z "$cube" ]; then
    echo "generating a 160 x 160 x 3681 demo cube in $dir ..."
    "$vs" make-demo --nx 160 --ny 160 --nchan 3681 --out "$dir" >"$work/make_demo.log" 2>&1 &
    pid=$!
    while kill -0 $pid 2>/dev/null; do  # stop at the first complete (renamed) cube
        if ls "$dir"/*_PHANGS_DATACUBE_native.fits >/dev/null 2>&1; then kill $pid; break; fi
        sleep 1
    done
    wait $pid 2>/dev/null || true
    rm -f "$dir"/*.part
    cube=$(ls "$dir"/*_PHANGS_DATACUBE_native.fits | head -1)
fi
echo "cube: $cube ($(stat -c %s "$cube") bytes)"

cfg="$work/voserver.toml"
cat >"$cfg" <<EOF
[server]
host = "127.0.0.1"
port = 0
threads = 2
query_workers = 2

[archive]
authority = "voserver.bench"
title = "SODA HTTP benchmark"
database = "$work/store.sqlite"

[[collection]]
name = "phangs-muse"
directories = ["$dir"]
description = "one 160 x 160 x 3681 demo cube"
EOF
rm -f "$work/store.sqlite"
"$vs" ingest "$cube" --collection phangs-muse --config "$cfg" >"$work/ingest.log" 2>&1

trap 'kill ${SERVER_PIDS[*]} 2>/dev/null || true' EXIT INT TERM
start_server "$vs" "$cfg" "$work"
server=$SERVER_PID
base="http://127.0.0.1:$SERVER_PORT"

q() { curl -sf "$base/tap/sync" --data-urlencode LANG=ADQL --data-urlencode RESPONSEFORMAT=csv --data-urlencode "QUERY=$1" | tail -n +2; }
row=$(q "SELECT obs_publisher_did, s_ra, s_dec FROM ivoa.obscore")
did=$(echo "$row" | cut -d, -f1)
ra=$(echo "$row" | cut -d, -f2)
dec=$(echo "$row" | cut -d, -f3)
circle="$ra $dec 0.001388889"  # 5 arcsec around the cube centre
band="6.5e-7 6.55e-7"          # 5 nm (vacuum), around H-alpha at low redshift
echo "ID=$did CIRCLE=$circle BAND=$band"

dd if="$cube" iflag=nocache count=0 2>/dev/null
cat "$cube" >/dev/null

cut() {  # cut PARAMS... -> "time_total size_download http_code"
    curl -s -o /dev/null -w '%{time_total} %{size_download} %{http_code}\n' -G "$base/soda/sync" \
        --data-urlencode "ID=$did" "$@"
}
stats() {  # stdin: one number per line (seconds) -> "median best" in ms
    sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.2f %.2f", m*1000, v[1]*1000}'
}
hwm() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$server/status"; }

echo "server VmHWM after start-up: $(hwm) MB"

# (b) first, on the fresh server.
cut --data-urlencode "CIRCLE=$circle" --data-urlencode "BAND=$band" >/dev/null  # warm-up
: >"$work/b.txt"
for _ in $(seq "$runs"); do cut --data-urlencode "CIRCLE=$circle" --data-urlencode "BAND=$band" >>"$work/b.txt"; done
bbytes=$(awk '{print $2; exit}' "$work/b.txt")
bcode=$(awk '{print $3; exit}' "$work/b.txt")
set -- $(awk '{print $1}' "$work/b.txt" | stats)
echo "(b) CIRCLE+BAND: HTTP $bcode, $bbytes bytes, median $1 ms, best $2 ms ($runs runs); VmHWM $(hwm) MB"

# (a), each run followed by dd of the same number of bytes.
cut --data-urlencode "CIRCLE=$circle" >/dev/null  # warm-up
: >"$work/a.txt"
: >"$work/dd.txt"
for _ in $(seq "$runs"); do
    cut --data-urlencode "CIRCLE=$circle" >>"$work/a.txt"
    abytes=$(awk '{print $2; exit}' "$work/a.txt")
    dd if="$cube" of=/dev/null bs=1M count="$abytes" iflag=count_bytes 2>&1 | tail -1 |
        awk '{for (i = 1; i <= NF; i++) if ($i == "s,") print $(i-1)}' >>"$work/dd.txt"
done
acode=$(awk '{print $3; exit}' "$work/a.txt")
echo "server VmHWM after (a): $(hwm) MB"

# Transport floor: the same number of bytes from a zero-work HTTP sender.
rport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/python3 bench/soda/loopback_reference.py "$rport" "$abytes" "$runs" >"$work/loopback.log" 2>&1 &
rpid=$!
SERVER_PIDS+=("$rpid")
until grep -q ready "$work/loopback.log" 2>/dev/null; do sleep 0.1; done
: >"$work/raw.txt"
for _ in $(seq "$runs"); do
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$rport/" >>"$work/raw.txt" ||
        echo "loopback reference: curl failed ($?)" >&2
done
kill $rpid 2>/dev/null || true
wait $rpid 2>/dev/null || true
# Static-file reference: nginx with sendfile serving a file of the same size
# from the page cache to the same curl command.
nmed=0; nbest=0
mkdir -p "$work/nginx-root"
head -c "$abytes" "$cube" > "$work/nginx-root/same_size.bin"
if start_nginx "$work/nginx-root" "$work/nginx"; then
    : >"$work/nginx.txt"
    curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/same_size.bin"  # warm-up
    for _ in $(seq "$runs"); do
        curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$NGINX_PORT/same_size.bin" >>"$work/nginx.txt"
    done
    kill "$NGINX_PID" 2>/dev/null || true
    set -- $(stats <"$work/nginx.txt")
    nmed=$1; nbest=$2
fi
set -- $(stats <"$work/raw.txt")
rmed=$1; rbest=$2
set -- $(awk '{print $1}' "$work/a.txt" | stats)
amed=$1; abest=$2
set -- $(stats <"$work/dd.txt")
dmed=$1; dbest=$2
awk -v nm="$nmed" -v nb="$nbest" -v rm="$rmed" -v rb="$rbest" -v b="$abytes" -v am="$amed" -v ab="$abest" -v dm="$dmed" -v db="$dbest" -v code="$acode" -v runs="$runs" 'BEGIN {
    printf "(a) CIRCLE: HTTP %s, %d bytes (%.1f MB), median %.1f ms (%.0f MB/s), best %.1f ms (%.0f MB/s) (%d runs)\n",
        code, b, b / 1e6, am, b / 1e3 / am, ab, b / 1e3 / ab, runs
    printf "    dd bs=1M of the same bytes: median %.1f ms (%.0f MB/s), best %.1f ms (%.0f MB/s)\n",
        dm, b / 1e3 / dm, db, b / 1e3 / db
    printf "    ratio of throughputs (a)/dd, medians: %.2f\n", dm / am
    printf "    zero-work HTTP sender of the same bytes (transport floor): median %.1f ms (%.0f MB/s), best %.1f ms\n",
        rm, b / 1e3 / rm, rb
    if (nm > 0) {
        printf "    nginx (sendfile) serving a file of the same size: median %.1f ms (%.0f MB/s), best %.1f ms\n",
            nm, b / 1e3 / nm, nb
        printf "    ratio of throughputs (a)/nginx, medians: %.2f (issue 14 target: at least 0.7)\n", nm / am
    }
}'
echo "server-side times (log, ms): $(grep -o '/soda/sync 200 [0-9]* [0-9.]*ms' "$work/server.log" | tail -3 | awk '{print $4}' | tr '\n' ' ')"
