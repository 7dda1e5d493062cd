#!/usr/bin/env bash
# Starts an unprivileged clickhouse-server in a temporary directory on free
# loopback ports and prints "export CLICKHOUSE_ADDR=... CLICKHOUSE_PID=... CLICKHOUSE_DIR=..."
# for the caller to eval. Used by scripts/test.sh; also handy by hand:
#   eval "$(scripts/clickhouse.sh start)"; ...; scripts/clickhouse.sh stop
#
# Sourced (as scripts/clickhouse-cluster.sh does), it only defines the
# functions below, so one server's config is written in one place.
set -euo pipefail

# free_ports N prints N distinct free loopback ports, one a line: the kernel
# picks them while all N sockets are bound, so none repeats.
free_ports() {
  python3 - "$1" <<'PY' 2>/dev/null || for _ in $(seq 1 "$1"); do echo $(( 20000 + RANDOM % 20000 )); done
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
for s in socks: print(s.getsockname()[1])
PY
}

# ch_bin prints clickhouse-server's path, or fails saying how to install it.
ch_bin() {
  command -v clickhouse-server || {
    echo "clickhouse-server not found: install Debian's clickhouse-server package (apt-get install clickhouse-server)" >&2
    return 1
  }
}

# ch_write_users FILE [PROFILE_XML] writes users.xml: three users, default (no
# password, for tests that need full rights), kpiflow (with a password, so
# tests can check authentication errors) and kpiflow_ro (profile readonly=1,
# which refuses any setting a query sends). PROFILE_XML goes into the default
# profile.
ch_write_users() {
  cat > "$1" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>4000000000</max_memory_usage><log_queries>1</log_queries>${2:-}</default>
    <readonly><readonly>1</readonly></readonly>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota>
    </default>
    <kpiflow>
      <password>kpiflow-test-password</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota>
    </kpiflow>
    <kpiflow_ro>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>readonly</profile><quota>default</quota>
    </kpiflow_ro>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
}

# ch_write_config DIR TCP HTTP USERS_XML EXTRA_XML writes DIR/config.xml for a
# server keeping its data, logs and temporary files under DIR. EXTRA_XML is
# added inside <yandex> (remote_servers, macros, zookeeper, ...).
ch_write_config() {
  local dir=$1 tcp=$2 http=$3 users=$4 extra=$5
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/log"
  cat > "$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$tcp</tcp_port>
  <http_port>$http</http_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <users_config>$users</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>500</flush_interval_milliseconds></query_log>
$extra
</yandex>
XML
}

# ch_write_launcher DIR writes DIR/start: a script that starts the server of
# DIR/config.xml in the background, records its pid in DIR/pid and prints it.
# Tests restart a stopped server with it (pkg/internal/chtest).
ch_write_launcher() {
  local dir=$1 bin
  bin=$(ch_bin)
  cat > "$dir/start" <<SH
#!/bin/sh
cd "$dir" || exit 1
"$bin" --config-file="$dir/config.xml" >> "$dir/log/stdout.log" 2>&1 &
echo \$! > "$dir/pid"
echo \$!
SH
  chmod +x "$dir/start"
}

# ch_wait TCP PID DIR waits until the server answers a query on TCP, or
# fails with its log when it exits or takes longer than 30 s.
ch_wait() {
  local tcp=$1 pid=$2 dir=$3 i
  for i in $(seq 1 150); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$tcp") 2>/dev/null; then
      # The port opens a little before the server answers queries.
      if command -v clickhouse-client >/dev/null && clickhouse-client --port "$tcp" -q 'SELECT 1' >/dev/null 2>&1; then return 0; fi
      if ! command -v clickhouse-client >/dev/null; then sleep 1; return 0; fi
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "clickhouse-server (pid $pid, $dir) exited during start; its log:" >&2
      tail -n 30 "$dir/log/error.log" "$dir/log/stdout.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  echo "clickhouse-server did not answer on 127.0.0.1:$tcp within 30s ($dir)" >&2
  return 1
}

# stop_pid PID MARK stops PID, but only while its command line still holds
# MARK (our temporary directory), so a pid reused by another process is never
# signalled: TERM, up to 5 s to exit, then KILL.
stop_pid() {
  local pid=$1 mark=$2
  [ -n "$pid" ] || return 0
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$mark" || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

start() {
  ch_bin >/dev/null
  local dir tcp http ports pid
  dir=$(mktemp -d /tmp/kpiflow-ch.XXXXXX)
  ports=$(free_ports 2)
  tcp=$(sed -n 1p <<<"$ports"); http=$(sed -n 2p <<<"$ports")
  ch_write_users "$dir/users.xml"
  # A one-node cluster, so cluster-mode DDL (Distributed tables) is tested.
  ch_write_config "$dir" "$tcp" "$http" "$dir/users.xml" \
    "  <remote_servers><kpiflow_test><shard><replica><host>127.0.0.1</host><port>$tcp</port></replica></shard></kpiflow_test></remote_servers>"
  ch_write_launcher "$dir"
  if [ "$(id -u)" = 0 ]; then chown -R nobody "$dir" 2>/dev/null || true; fi
  pid=$("$dir/start")
  if ! ch_wait "$tcp" "$pid" "$dir"; then kill "$pid" 2>/dev/null || true; exit 1; fi
  echo "export CLICKHOUSE_ADDR=127.0.0.1:$tcp CLICKHOUSE_HTTP_ADDR=127.0.0.1:$http CLICKHOUSE_PID=$pid CLICKHOUSE_DIR=$dir"
}

stop() {
  if [ -n "${CLICKHOUSE_PID:-}" ] && [ -n "${CLICKHOUSE_DIR:-}" ]; then
    stop_pid "$CLICKHOUSE_PID" "$CLICKHOUSE_DIR"
  fi
  if [ -n "${CLICKHOUSE_DIR:-}" ] && [ -d "$CLICKHOUSE_DIR" ]; then rm -rf "$CLICKHOUSE_DIR"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
  esac
fi
