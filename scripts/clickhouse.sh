#!/usr/bin/env bash
# Starts an unprivileged clickhouse-server in a temporary directory on free
# loopback ports and prints "export CLICKHOUSE_ADDR=... CLICKHOUSE_PID=... CLICKHOUSE_DIR=..."
# for the caller to eval. Used by scripts/test.sh; also handy by hand:
#   eval "$(scripts/clickhouse.sh start)"; ...; scripts/clickhouse.sh stop
set -euo pipefail

free_port() {
  # Ask the kernel for a free port by binding port 0, then release it.
  python3 - <<'PY' 2>/dev/null || echo $(( 20000 + RANDOM % 20000 ))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

start() {
  local bin
  bin=$(command -v clickhouse-server || true)
  if [ -z "$bin" ]; then
    echo "clickhouse-server not found: install Debian's clickhouse-server package (apt-get install clickhouse-server)" >&2
    exit 1
  fi
  local dir tcp http
  dir=$(mktemp -d /tmp/kpiflow-ch.XXXXXX)
  tcp=$(free_port); http=$(free_port)
  while [ "$http" = "$tcp" ]; do http=$(free_port); done
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
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <!-- A one-node cluster, so cluster-mode DDL (Distributed tables) is tested. -->
  <remote_servers><kpiflow_test><shard><replica><host>127.0.0.1</host><port>$tcp</port></replica></shard></kpiflow_test></remote_servers>
  <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>500</flush_interval_milliseconds></query_log>
</yandex>
XML
  # Two users: default (no password, for tests that need full rights) and
  # kpiflow (with a password, so tests can check authentication errors).
  cat > "$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>4000000000</max_memory_usage><log_queries>1</log_queries></default>
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
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  if [ "$(id -u)" = 0 ]; then chown -R nobody "$dir" 2>/dev/null || true; fi
  (cd "$dir" && exec "$bin" --config-file="$dir/config.xml" > "$dir/log/stdout.log" 2>&1) &
  local pid=$!
  local i
  for i in $(seq 1 150); do
    if (exec 3<>/dev/tcp/127.0.0.1/$tcp) 2>/dev/null; then
      # The port opens a little before the server answers queries.
      if command -v clickhouse-client >/dev/null && clickhouse-client --port "$tcp" -q 'SELECT 1' >/dev/null 2>&1; then break; fi
      if ! command -v clickhouse-client >/dev/null; then sleep 1; break; fi
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "clickhouse-server exited during start; its log:" >&2
      tail -n 30 "$dir/log/error.log" "$dir/log/stdout.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  if [ "$i" = 150 ]; then echo "clickhouse-server did not answer on 127.0.0.1:$tcp within 30s" >&2; kill "$pid"; exit 1; fi
  echo "export CLICKHOUSE_ADDR=127.0.0.1:$tcp CLICKHOUSE_HTTP_ADDR=127.0.0.1:$http CLICKHOUSE_PID=$pid CLICKHOUSE_DIR=$dir"
}

stop() {
  if [ -n "${CLICKHOUSE_PID:-}" ]; then
    kill "$CLICKHOUSE_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$CLICKHOUSE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$CLICKHOUSE_PID" 2>/dev/null || true
  fi
  if [ -n "${CLICKHOUSE_DIR:-}" ] && [ -d "$CLICKHOUSE_DIR" ]; then rm -rf "$CLICKHOUSE_DIR"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
