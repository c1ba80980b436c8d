#!/usr/bin/env bash
# A throwaway PostgreSQL for tests (Debian's postgresql package; never a download of its own).
#
#   scripts/postgres.sh install            apt-get install postgresql when pg_ctl is missing
#   scripts/postgres.sh start DIR PORT     initdb a cluster in DIR (once) and start it on 127.0.0.1:PORT
#   scripts/postgres.sh stop DIR [MODE]    stop the cluster in DIR (fast, or immediate: no shutdown
#                                          checkpoint, for a cluster about to be deleted); no-op if stopped
#   scripts/postgres.sh url DIR [DBNAME]   the SQLAlchemy URL of the running cluster
#
# The cluster trusts connections from 127.0.0.1 only (no password, no IPv6, no other host), keeps its
# unix socket inside DIR and runs with fsync off: it is for tests, never for data you want to keep.
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user and DIR is
# handed to it; DIR's parent directories must be traversable by that user (e.g. a directory in /tmp).
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

bindir() {
  # Newest /usr/lib/postgresql/<version>/bin with pg_ctl, else wherever pg_ctl is on PATH.
  local best="" ver
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] || continue
    ver=$(basename "$(dirname "$d")")
    if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$ver" | sort -V | tail -n1)" = "$ver" ]; then
      best=$ver
    fi
  done
  if [ -n "$best" ]; then
    echo "/usr/lib/postgresql/$best/bin"
  elif command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
  else
    return 1
  fi
}

as_owner() {
  # Run a command as the cluster owner: `postgres` when we are root, else ourselves.
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

cmd_install() {
  if bindir >/dev/null; then
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # binaries only: no default cluster on port 5432 (the tests start their own, on a free port);
  # a drop-in that the package's createcluster.conf includes, so no packaged file is touched
  $sudo mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/mockround.conf >/dev/null
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends postgresql
  bindir >/dev/null || die "postgresql was installed but no pg_ctl was found"
}

write_config() {
  local data=$1 port=$2 run=$3
  as_owner tee "$data/mockround.conf" >/dev/null <<EOF
# written by scripts/postgres.sh on every start
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$run'
unix_socket_permissions = 0700
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF
  grep -q "^include_if_exists = 'mockround.conf'" "$data/postgresql.conf" ||
    echo "include_if_exists = 'mockround.conf'" | as_owner tee -a "$data/postgresql.conf" >/dev/null
  printf '# scripts/postgres.sh: trust on 127.0.0.1 only\nhost all all 127.0.0.1/32 trust\n' |
    as_owner tee "$data/pg_hba.conf" >/dev/null
}

cmd_start() {
  local dir=${1:-} port=${2:-}
  [ -n "$dir" ] && [ -n "$port" ] || die "usage: postgres.sh start DIR PORT"
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 65535 ] || die "bad port: $port"
  local bin
  bin=$(bindir) || die "PostgreSQL is not installed; run: scripts/postgres.sh install"
  mkdir -p "$dir"
  dir=$(readlink -f "$dir")
  local data=$dir/data run=$dir/run
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the server as"
    chown postgres: "$dir"
    chmod 700 "$dir"
    runuser -u postgres -- test -w "$dir" ||
      die "user postgres cannot reach $dir; use a directory whose parents it can traverse (e.g. in /tmp)"
  fi
  if as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    [ "$(cat "$dir/port" 2>/dev/null)" = "$port" ] || die "a cluster already runs in $dir on another port"
    return 0
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; die "initdb failed in $data"; }
  fi
  as_owner mkdir -p "$run"
  write_config "$data" "$port" "$run"
  echo "$port" | as_owner tee "$dir/port" >/dev/null
  if ! as_owner "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
    tail -n 30 "$dir/postgres.log" >&2 || true
    die "the server in $data did not start"
  fi
  for _ in $(seq 1 100); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && return 0
    sleep 0.1
  done
  die "the server in $data does not accept connections on 127.0.0.1:$port"
}

cmd_stop() {
  local dir=${1:-} mode=${2:-fast}
  [ -n "$dir" ] || die "usage: postgres.sh stop DIR [fast|immediate]"
  [ "$mode" = fast ] || [ "$mode" = immediate ] || die "stop mode must be fast or immediate, not $mode"
  [ -f "$dir/data/PG_VERSION" ] || return 0
  local bin
  bin=$(bindir) || die "PostgreSQL is not installed"
  if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null
  fi
}

cmd_url() {
  local dir=${1:-} db=${2:-postgres}
  [ -n "$dir" ] || die "usage: postgres.sh url DIR [DBNAME]"
  [ -f "$dir/port" ] || die "no cluster was started in $dir"
  echo "postgresql+psycopg://postgres@127.0.0.1:$(cat "$dir/port")/$db"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  url) shift; cmd_url "$@" ;;
  bindir) bindir || die "PostgreSQL is not installed" ;;
  *) die "usage: postgres.sh {install|start DIR PORT|stop DIR [fast|immediate]|url DIR [DBNAME]}" ;;
esac
