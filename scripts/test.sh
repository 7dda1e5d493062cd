#!/usr/bin/env bash
# kpiflow's whole test suite: go vet, every Go test (unit and integration,
# against a real ClickHouse through Grafana's plugin protocol), then the
# frontend's typecheck, lint, unit tests, build, dist layout and browser tests,
# and the modern-ClickHouse conformance run (scripts/modern-clickhouse.sh).
#
# ClickHouse: CLICKHOUSE_ADDR=host:port when set; otherwise this starts
# clickhouse-server on loopback in a temporary directory (installing Debian's
# package first when it is missing and we are root) and stops it at the end.
# Under CI=true a missing ClickHouse fails the run; tests never skip there.
#
# After the single-server suite comes the cluster suite (pkg/internal/clustersuite)
# on 2 shards x 2 replicas with ZooKeeper: CLICKHOUSE_CLUSTER_ADDRS (with
# CLICKHOUSE_CLUSTER, CLICKHOUSE_CLUSTER_DIR) when set, otherwise started by
# scripts/clickhouse-cluster.sh and stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# What this script started, stopped on exit in reverse order.
stops=()
on_exit() { local i; for ((i = ${#stops[@]} - 1; i >= 0; i--)); do ${stops[i]} || true; done; }
trap on_exit EXIT

if [ -z "${CLICKHOUSE_ADDR:-}" ]; then
  if ! command -v clickhouse-server >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      step "installing Debian's clickhouse-server"
      apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clickhouse-server clickhouse-client
    else
      echo "clickhouse-server is missing: install it (apt-get install clickhouse-server) or set CLICKHOUSE_ADDR=host:port" >&2
      exit 1
    fi
  fi
  step "starting ClickHouse on loopback"
  eval "$(scripts/clickhouse.sh start)"
  stops+=("scripts/clickhouse.sh stop")
  echo "ClickHouse at $CLICKHOUSE_ADDR (data in $CLICKHOUSE_DIR)"
fi
export CLICKHOUSE_ADDR

if [ ! -d node_modules ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

step "frontend: typecheck, lint, unit tests"
npm run typecheck
npm run lint
npm run test:ci

step "frontend build into dist/"
npm run build

step "backend build (mage wasm, then build:linux) into dist/datasource/"
# wasm first: the backend embeds the built-in optimizer module it builds.
go run github.com/magefile/mage@v1.17.2 -v wasm
go run github.com/magefile/mage@v1.17.2 -v build:linux
export KPIFLOW_PLUGIN_BIN="$PWD/dist/datasource/gpx_kpiflow_linux_$(go env GOARCH)"

step "dist layout"
npm run test:dist

step "go vet"
# ./pkg/... and not ./...: node_modules holds Go packages of its own
# (flatted/golang) that are not ours to vet or test.
go vet ./pkg/...
go vet -tags integration ./pkg/...
go vet -tags cluster ./pkg/...

step "go test (unit and integration)"
# KPIFLOW_WRITE_FIXTURES: the taskflow query test writes the frames it got
# through the plugin protocol to tests/fixtures/taskflow.json, which the
# browser test then renders, so both sides agree on the frames' shape.
KPIFLOW_WRITE_FIXTURES=1 go test -tags integration -count=1 -timeout 20m ./pkg/...

step "cluster suite: 2 shards x 2 replicas with ZooKeeper"
# CLICKHOUSE_CLUSTER_ADDRS=...: use that cluster; otherwise start one
# (scripts/clickhouse-cluster.sh). Without ZooKeeper the suite is skipped,
# except under CI=true, where that fails the run.
if [ -z "${CLICKHOUSE_CLUSTER_ADDRS:-}" ]; then
  if command -v java >/dev/null && [ -f /usr/share/java/zookeeper.jar ]; then
    eval "$(scripts/clickhouse-cluster.sh start)"
    stops+=("scripts/clickhouse-cluster.sh stop")
  elif [ "${CI:-}" = true ]; then
    echo "ZooKeeper is missing (Debian's zookeeper package): the cluster suite cannot run; .ci/run installs it" >&2
    exit 1
  else
    echo "ZooKeeper is missing: skipping the cluster suite (apt-get install --no-install-recommends zookeeper to run it)"
  fi
fi
if [ -n "${CLICKHOUSE_CLUSTER_ADDRS:-}" ]; then
  export CLICKHOUSE_CLUSTER_ADDRS CLICKHOUSE_CLUSTER CLICKHOUSE_CLUSTER_DIR
  go test -tags cluster -count=1 -timeout 30m ./pkg/internal/clustersuite/
fi

step "modern ClickHouse: DDL and queries on ClickHouse 26.7 embedded (chDB), compared with 18.16"
bash scripts/modern-clickhouse.sh

step "browser tests (Debian chromium, headless)"
npm run e2e
