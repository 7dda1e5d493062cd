#!/usr/bin/env bash
# Starts a ClickHouse cluster for tests on loopback, in a temporary directory:
# one ZooKeeper (Debian's zookeeper package, run with java) and four
# clickhouse-server processes, 2 shards x 2 replicas. Prints export lines:
#
#   eval "$(scripts/clickhouse-cluster.sh start)"
#   # CLICKHOUSE_CLUSTER_ADDRS  host:port of the four native ports, shard by shard:
#   #                           shard 1 replica 1, shard 1 replica 2, shard 2 replica 1, shard 2 replica 2
#   # CLICKHOUSE_CLUSTER        the 2x2 cluster's name (internal_replication on), for the cluster setting
#   # CLICKHOUSE_CLUSTER_DIR    the directory holding everything, pids included
#   scripts/clickhouse-cluster.sh stop      # stops exactly the pids that directory holds, removes it
#
# Layout of CLICKHOUSE_CLUSTER_DIR: zk/ (zoo.cfg, data, pid, start) and
# node1..node4/ (config.xml, data, log, pid, start). Each start script starts
# its process again in the background and records the new pid; the Go tests
# stop and restart single servers with them (pkg/internal/chtest).
#
# remote_servers on every server:
#   kpiflow_2x2  2 shards x 2 replicas, internal_replication: the cluster kpiflow runs on
#   kpiflow_4x1  every server as its own shard, for ON CLUSTER DDL on tables that are not
#                replicated (an ALTER of a Distributed table on kpiflow_2x2 fails with code 371)
# macros: shard 01/02, replica n1..n4. The default profile sets distributed_ddl_task_timeout
# to 20 s, so DDL with a server down fails in 20 s instead of 180.
set -euo pipefail
# shellcheck source=scripts/clickhouse.sh
source "$(dirname "${BASH_SOURCE[0]}")/clickhouse.sh"

readonly CLUSTER=kpiflow_2x2 CLUSTER_ALL=kpiflow_4x1
readonly ZK_JARS=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar
# How long a server's ZooKeeper session outlives it: a replica killed hard is
# taken for alive until then, and comes back only after its old session ends.
readonly ZK_SESSION_MS=4000

zk_check() {
  if ! command -v java >/dev/null || [ ! -f /usr/share/java/zookeeper.jar ]; then
    echo "ZooKeeper not found: install Debian's zookeeper package (apt-get install --no-install-recommends zookeeper), which brings java and /usr/share/java/zookeeper.jar" >&2
    return 1
  fi
}

# zk_ask PORT WORD sends a ZooKeeper four-letter word and prints the answer.
zk_ask() {
  local port=$1 word=$2
  (exec 3<>/dev/tcp/127.0.0.1/"$port" && printf '%s' "$word" >&3 && timeout 2 cat <&3) 2>/dev/null || true
}

zk_start() {
  local dir=$1 port=$2
  mkdir -p "$dir/data" "$dir/log"
  cat > "$dir/zoo.cfg" <<CFG
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
tickTime=500
minSessionTimeout=1000
maxSessionTimeout=10000
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
CFG
  cat > "$dir/start" <<SH
#!/bin/sh
cd "$dir" || exit 1
java -Xmx256m -XX:+UseSerialGC -Dzookeeper.log.dir="$dir/log" -cp $ZK_JARS \\
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >> "$dir/log/zookeeper.log" 2>&1 &
echo \$! > "$dir/pid"
echo \$!
SH
  chmod +x "$dir/start"
  "$dir/start" >/dev/null
}

# zk_wait waits for ZooKeeper to serve: "ruok" answers before it does, "srvr" prints Mode: once it serves.
zk_wait() {
  local dir=$1 port=$2
  for _ in $(seq 1 150); do
    if zk_ask "$port" srvr | grep -q '^Mode:'; then return 0; fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "ZooKeeper exited during start; its log:" >&2
      tail -n 30 "$dir/log/zookeeper.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  echo "ZooKeeper did not serve on 127.0.0.1:$port within 30s" >&2
  return 1
}

# remote_servers XML for the four native ports.
remote_servers() {
  local t=("$@") r=""
  r+="<$CLUSTER>"
  r+="<shard><internal_replication>true</internal_replication><replica><host>127.0.0.1</host><port>${t[0]}</port></replica><replica><host>127.0.0.1</host><port>${t[1]}</port></replica></shard>"
  r+="<shard><internal_replication>true</internal_replication><replica><host>127.0.0.1</host><port>${t[2]}</port></replica><replica><host>127.0.0.1</host><port>${t[3]}</port></replica></shard>"
  r+="</$CLUSTER><$CLUSTER_ALL>"
  for p in "${t[@]}"; do r+="<shard><replica><host>127.0.0.1</host><port>$p</port></replica></shard>"; done
  r+="</$CLUSTER_ALL>"
  echo "<remote_servers>$r</remote_servers>"
}

start() {
  ch_bin >/dev/null
  zk_check
  local began dir ports
  began=$(date +%s%N)
  dir=$(mktemp -d /tmp/kpiflow-chc.XXXXXX)
  # 1 ZooKeeper port, then tcp, http, interserver for each of the four servers.
  mapfile -t ports < <(free_ports 13)
  local zk=${ports[0]} tcp=() i
  for i in 0 1 2 3; do tcp+=("${ports[1 + 3 * i]}"); done
  # On failure, stop what was started and say where the logs are (kept).
  trap 'echo "cluster start failed; logs in $dir" >&2; CLICKHOUSE_CLUSTER_DIR=$dir stop_all' ERR

  zk_start "$dir/zk" "$zk"
  ch_write_users "$dir/users.xml" "<distributed_ddl_task_timeout>20</distributed_ddl_task_timeout>"
  local rs
  rs=$(remote_servers "${tcp[@]}")
  for i in 0 1 2 3; do
    local node=$dir/node$((i + 1))
    ch_write_config "$node" "${tcp[i]}" "${ports[2 + 3 * i]}" "$dir/users.xml" "
  <interserver_http_port>${ports[3 + 3 * i]}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <zookeeper><node><host>127.0.0.1</host><port>$zk</port></node><session_timeout_ms>$ZK_SESSION_MS</session_timeout_ms></zookeeper>
  <macros><shard>0$((i / 2 + 1))</shard><replica>n$((i + 1))</replica></macros>
  $rs
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>"
    ch_write_launcher "$node"
  done
  if [ "$(id -u)" = 0 ]; then chown -R nobody "$dir" 2>/dev/null || true; fi
  zk_wait "$dir/zk" "$zk"
  # The servers start together; each waits for ZooKeeper, which is up.
  for i in 1 2 3 4; do "$dir/node$i/start" >/dev/null; done
  for i in 0 1 2 3; do ch_wait "${tcp[i]}" "$(cat "$dir/node$((i + 1))/pid")" "$dir/node$((i + 1))"; done
  trap - ERR
  local addrs
  addrs=$(printf '127.0.0.1:%s,' "${tcp[@]}")
  echo "# cluster $CLUSTER up in $((($(date +%s%N) - began) / 1000000)) ms: ZooKeeper 127.0.0.1:$zk, logs in $dir" >&2
  echo "export CLICKHOUSE_CLUSTER_ADDRS=${addrs%,} CLICKHOUSE_CLUSTER=$CLUSTER CLICKHOUSE_CLUSTER_DIR=$dir"
}

# stop_all stops the servers, then ZooKeeper, each by the pid its directory holds.
stop_all() {
  local dir=${CLICKHOUSE_CLUSTER_DIR:-} f
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  for f in "$dir"/node*/pid "$dir"/zk/pid; do
    [ -f "$f" ] && stop_pid "$(cat "$f")" "$dir" &
  done
  wait
}

stop() {
  if [ -z "${CLICKHOUSE_CLUSTER_DIR:-}" ]; then
    echo "CLICKHOUSE_CLUSTER_DIR is not set: eval the output of '$0 start' first" >&2
    exit 2
  fi
  case "$CLICKHOUSE_CLUSTER_DIR" in
    /tmp/kpiflow-chc.*) ;;
    *) echo "CLICKHOUSE_CLUSTER_DIR=$CLICKHOUSE_CLUSTER_DIR is not a directory this script made" >&2; exit 2 ;;
  esac
  stop_all
  rm -rf "$CLICKHOUSE_CLUSTER_DIR"
}

# mem prints the resident memory of the cluster's processes, in MiB.
mem() {
  local f total=0 kb
  for f in "${CLICKHOUSE_CLUSTER_DIR:?}"/zk/pid "$CLICKHOUSE_CLUSTER_DIR"/node*/pid; do
    kb=$(awk '/^VmRSS/ {print $2}' "/proc/$(cat "$f")/status" 2>/dev/null || echo 0)
    echo "$(basename "$(dirname "$f")") $((kb / 1024)) MiB"
    total=$((total + kb))
  done
  echo "total $((total / 1024)) MiB"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  mem) mem ;;
  *) echo "usage: $0 start|stop|mem" >&2; exit 2 ;;
esac
