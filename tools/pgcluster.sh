#!/usr/bin/env bash
# pgcluster.sh: start and stop throwaway PostgreSQL clusters for tests, demos and benchmarks.
#
# As a command:
#   pgcluster.sh start DIR PORT              initdb DIR/data if absent, start the server with its
#                                            Unix socket in DIR (no TCP), wait until it accepts
#                                            connections; prints nothing but errors
#   pgcluster.sh stop DIR                    fast shutdown; nothing to do if it is not running
#   pgcluster.sh restart DIR                 fast restart of a running cluster
#   pgcluster.sh conninfo DIR PORT DBNAME    prints "host=DIR port=PORT user=postgres dbname=DBNAME"
#   pgcluster.sh psql DIR PORT [ARGS...]     runs psql on database postgres of that cluster
#
# As a library (". tools/pgcluster.sh"): the functions pgcluster_start, pgcluster_stop,
# pgcluster_conninfo, pgcluster_bindir; sourcing runs nothing and sets no shell options.
#
# The server log is DIR/server.log. PostgreSQL refuses to run as root: when the caller is root
# the cluster belongs to, and the server runs as, the OS user postgres (PGCLUSTER_USER
# overrides), through runuser; otherwise it runs as the caller.
#
# Settings: every start rewrites DIR/data/pgcluster.conf, included by postgresql.conf, with
# listen_addresses='', the socket directory, the port, settings for speed (fsync=off,
# synchronous_commit=off, full_page_writes=off, shared_buffers=128MB, max_wal_size=2GB; drop them
# with PGCLUSTER_DEFAULTS=0), then the settings of PGCLUSTER_CONF, whitespace-separated
# name=value pairs that win over the defaults, e.g.
#   PGCLUSTER_CONF="fsync=on shared_buffers=1GB max_parallel_workers=0" pgcluster.sh start /tmp/b 5433
# Binaries: PGCLUSTER_BINDIR, else `pg_config --bindir`, else /usr/lib/postgresql/15/bin.

# pgcluster_bindir: prints the directory of initdb, pg_ctl and postgres.
pgcluster_bindir() {
  local dir=${PGCLUSTER_BINDIR:-}
  if [ -z "$dir" ] && command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir 2>/dev/null) || dir=""
  fi
  # Debian's /usr/bin/pg_config may be the client's: it must also hold the server.
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ] || [ ! -x "$dir/pg_ctl" ]; then
    dir=/usr/lib/postgresql/15/bin
  fi
  if [ ! -x "$dir/initdb" ] || [ ! -x "$dir/pg_ctl" ]; then
    echo "pgcluster: no PostgreSQL server binaries found (tried pg_config --bindir and $dir)" >&2
    return 1
  fi
  printf '%s\n' "$dir"
}

# pgcluster__owner: prints the OS user that owns and runs the clusters.
pgcluster__owner() {
  if [ "$(id -u)" -eq 0 ]; then
    printf '%s\n' "${PGCLUSTER_USER:-postgres}"
  else
    id -un
  fi
}

# pgcluster__run CMD...: runs a command as the cluster owner, from the root directory (the
# caller's working directory may be closed to that user).
pgcluster__run() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$(pgcluster__owner)" -- "$@")
  else
    (cd / && "$@")
  fi
}

# pgcluster__absdir DIR: prints DIR as an absolute path with no symbolic links.
pgcluster__absdir() {
  (cd -P -- "$1" 2>/dev/null && pwd) || { echo "pgcluster: no directory \"$1\"" >&2; return 1; }
}

# pgcluster__quote VALUE: prints VALUE as a postgresql.conf string literal.
pgcluster__quote() {
  printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"
}

# pgcluster_start DIR PORT
pgcluster_start() {
  if [ $# -ne 2 ]; then echo "usage: pgcluster.sh start DIR PORT" >&2; return 2; fi
  local dir=$1 port=$2 bindir owner data log conf item name value
  case "$port" in
    ''|*[!0-9]*) echo "pgcluster: port \"$port\" is not a number" >&2; return 2 ;;
  esac
  bindir=$(pgcluster_bindir) || return 1
  owner=$(pgcluster__owner) || return 1
  mkdir -p -- "$dir" || return 1
  dir=$(pgcluster__absdir "$dir") || return 1
  data=$dir/data
  log=$dir/server.log

  if [ "$(id -u)" -eq 0 ]; then
    # The owner must reach DIR through every parent directory, and own DIR itself.
    chown "$owner:" "$dir" || return 1
    chmod 0711 "$dir" || return 1
    if ! runuser -u "$owner" -- test -w "$dir"; then
      echo "pgcluster: user $owner cannot reach \"$dir\": open its parent directories to it (chmod o+x)" >&2
      return 1
    fi
  fi
  # Unix socket paths are limited to 107 bytes.
  if [ $(( ${#dir} + 17 )) -gt 107 ]; then
    echo "pgcluster: directory path \"$dir\" is too long for a Unix socket" >&2
    return 1
  fi

  if [ ! -f "$data/PG_VERSION" ]; then
    if ! pgcluster__run "$bindir/initdb" -D "$data" --auth=trust -U postgres --encoding=UTF8 \
           --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
      echo "pgcluster: initdb failed for \"$data\":" >&2
      tail -n 20 "$dir/initdb.log" >&2
      return 1
    fi
    printf '\n# settings of tools/pgcluster.sh, rewritten at each start\ninclude_if_exists = %s\n' \
      "'pgcluster.conf'" | pgcluster__run tee -a "$data/postgresql.conf" >/dev/null || return 1
  fi

  if pgcluster__run "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    return 0
  fi

  conf="listen_addresses = ''"$'\n'
  conf+="unix_socket_directories = $(pgcluster__quote "$dir")"$'\n'
  conf+="port = $port"$'\n'
  if [ "${PGCLUSTER_DEFAULTS:-1}" != 0 ]; then
    conf+="fsync = off"$'\n'
    conf+="synchronous_commit = off"$'\n'
    conf+="full_page_writes = off"$'\n'
    conf+="shared_buffers = '128MB'"$'\n'
    conf+="max_wal_size = '2GB'"$'\n'
  fi
  local -a items=()
  read -r -a items <<<"${PGCLUSTER_CONF:-}" || true
  for item in "${items[@]}"; do
    case "$item" in
      *=*) ;;
      *) echo "pgcluster: PGCLUSTER_CONF item \"$item\" is not name=value" >&2; return 2 ;;
    esac
    name=${item%%=*}
    value=${item#*=}
    conf+="$name = $(pgcluster__quote "$value")"$'\n'
  done
  printf '%s' "$conf" | pgcluster__run tee "$data/pgcluster.conf" >/dev/null || return 1

  local log_size
  log_size=$(stat -c %s "$log" 2>/dev/null) || log_size=0
  if ! pgcluster__run "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 -s start >/dev/null 2>"$dir/pg_ctl.err"; then
    echo "pgcluster: could not start the server in \"$data\" on port $port:" >&2
    cat "$dir/pg_ctl.err" >&2
    tail -c +"$((log_size + 1))" "$log" 2>/dev/null | tail -n 20 >&2 || true
    return 1
  fi
  # pg_ctl -w already waited; make sure the socket answers before returning.
  local tries=0
  until "$bindir/pg_isready" -q -h "$dir" -p "$port" -U postgres -d postgres; do
    tries=$((tries + 1))
    if [ "$tries" -ge 100 ]; then
      echo "pgcluster: server in \"$data\" started but does not accept connections on port $port" >&2
      return 1
    fi
    sleep 0.1
  done
}

# pgcluster_stop DIR
pgcluster_stop() {
  if [ $# -ne 1 ]; then echo "usage: pgcluster.sh stop DIR" >&2; return 2; fi
  local dir bindir
  dir=$(pgcluster__absdir "$1" 2>/dev/null) || return 0
  [ -f "$dir/data/postmaster.pid" ] || return 0
  bindir=$(pgcluster_bindir) || return 1
  if pgcluster__run "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    pgcluster__run "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 -s stop >/dev/null || {
      # A fast stop that hangs: do not leave a server behind.
      pgcluster__run "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 -s stop >/dev/null || return 1
    }
  fi
  return 0
}

# pgcluster_restart DIR: a fast restart of a running cluster (its sessions are cut)
pgcluster_restart() {
  if [ $# -ne 1 ]; then echo "usage: pgcluster.sh restart DIR" >&2; return 2; fi
  local dir bindir
  dir=$(pgcluster__absdir "$1") || return 1
  bindir=$(pgcluster_bindir) || return 1
  pgcluster__run "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 -s restart >/dev/null
}

# pgcluster_conninfo DIR PORT DBNAME
pgcluster_conninfo() {
  if [ $# -ne 3 ]; then echo "usage: pgcluster.sh conninfo DIR PORT DBNAME" >&2; return 2; fi
  local dir
  dir=$(pgcluster__absdir "$1") || return 1
  printf 'host=%s port=%s user=postgres dbname=%s\n' "$dir" "$2" "$3"
}

pgcluster_main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case "$cmd" in
    start) pgcluster_start "$@" ;;
    stop) pgcluster_stop "$@" ;;
    restart) pgcluster_restart "$@" ;;
    conninfo) pgcluster_conninfo "$@" ;;
    psql)
      if [ $# -lt 2 ]; then echo "usage: pgcluster.sh psql DIR PORT [PSQL ARGS...]" >&2; return 2; fi
      local dir port bindir
      dir=$(pgcluster__absdir "$1") || return 1
      port=$2
      shift 2
      bindir=$(pgcluster_bindir) || return 1
      "$bindir/psql" -X -h "$dir" -p "$port" -U postgres -d postgres "$@"
      ;;
    *)
      echo "usage: pgcluster.sh start DIR PORT | stop DIR | conninfo DIR PORT DBNAME | psql DIR PORT [ARGS...]" >&2
      return 2
      ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  pgcluster_main "$@"
fi
