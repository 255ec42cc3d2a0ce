# Shared by the bench/ scripts (source it): start a voserver and wait until it accepts.
#
# start_server VOSERVER CONFIG DIR [ARGS...]
#   runs `VOSERVER serve --config CONFIG --port 0 --port-file DIR/port ARGS...` in
#   the background with its output in DIR/server.log, waits (up to 60 s) until
#   the server has written the port it accepts on, and sets SERVER_PID and
#   SERVER_PORT. It appends the PID to the array SERVER_PIDS, so that one trap
#   (`trap 'kill ${SERVER_PIDS[*]} 2>/dev/null || true' EXIT`) stops every
#   server started. Not in a subshell: $(start_server ...) would lose the
#   variables. If the server exits or never accepts, it prints the log to
#   stderr, stops the server and returns 1.
SERVER_PIDS=()
start_server() {
  local vs=$1 cfg=$2 dir=$3
  shift 3
  mkdir -p "$dir"
  rm -f "$dir/port"
  "$vs" serve --config "$cfg" --port 0 --port-file "$dir/port" "$@" > "$dir/server.log" 2>&1 &
  SERVER_PID=$!
  SERVER_PIDS+=("$SERVER_PID")
  local _
  for _ in $(seq 600); do
    if [ -s "$dir/port" ]; then
      SERVER_PORT=$(cat "$dir/port")
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/server.log" >&2
  kill "$SERVER_PID" 2>/dev/null || true
  return 1
}

# start_nginx ROOT DIR
#   serves the files of ROOT with nginx (sendfile on, tcp_nopush, 2 workers,
#   no access log: the static-file reference of the SODA and download
#   benchmarks) on a free loopback port, configuration and logs in DIR; sets
#   NGINX_PID and NGINX_PORT and appends the PID to SERVER_PIDS. Returns 1 if
#   nginx is not installed (`apt-get install nginx-light`) or does not answer.
start_nginx() {
  local root=$1 dir=$2 _
  command -v nginx > /dev/null || { echo "nginx: not installed (apt-get install nginx-light)" >&2; return 1; }
  mkdir -p "$dir"
  NGINX_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$dir/nginx.conf" <<NGX
daemon off;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $dir;
  proxy_temp_path $dir;
  fastcgi_temp_path $dir;
  uwsgi_temp_path $dir;
  scgi_temp_path $dir;
  server { listen 127.0.0.1:$NGINX_PORT; root $root; }
}
NGX
  nginx -c "$dir/nginx.conf" &
  NGINX_PID=$!
  SERVER_PIDS+=("$NGINX_PID")
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && return 0
    sleep 0.1
  done
  cat "$dir/error.log" >&2
  return 1
}

# write_bench_config FILE STORE [EXTRA_ARCHIVE_LINES]
#   writes the configuration the TAP benchmarks serve STORE with: loopback,
#   port 0, 2 I/O threads, 4 query workers, MAXREC up to 10,000,000, and 64
#   queries per client (wrk's 16 connections all come from one address:
#   above the default per-client limit of 8 they would be answered 429, fast,
#   and counted as requests).
write_bench_config() {
  cat > "$1" <<TOML
[server]
host = "127.0.0.1"
port = 0
threads = 2
query_workers = 4
[archive]
authority = "bench"
database = "$2"
${3:-}
[limits]
maxrec_default = 10000
maxrec_hard = 10000000
max_queries_per_client = 64
TOML
}
