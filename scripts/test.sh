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
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

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
  trap 'scripts/clickhouse.sh stop' EXIT
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

step "backend build (mage build:linux) into dist/datasource/"
go run github.com/magefile/mage@v1.17.2 -v build:linux
go run github.com/magefile/mage@v1.17.2 wasm
export KPIFLOW_PLUGIN_BIN="$PWD/dist/datasource/gpx_kpiflow_linux_$(go env GOARCH)"

step "dist layout"
npm run test:dist

step "go vet"
# ./pkg/... and not ./...: node_modules holds Go packages of its own
# (flatted/golang) that are not ours to vet or test.
go vet ./pkg/...
go vet -tags integration ./pkg/...

step "go test (unit and integration)"
# KPIFLOW_WRITE_FIXTURES: the taskflow query test writes the frames it got
# through the plugin protocol to tests/fixtures/taskflow.json, which the
# browser test then renders, so both sides agree on the frames' shape.
KPIFLOW_WRITE_FIXTURES=1 go test -tags integration -count=1 -timeout 20m ./pkg/...

step "modern ClickHouse: DDL and queries on ClickHouse 26.7 embedded (chDB), compared with 18.16"
bash scripts/modern-clickhouse.sh

step "browser tests (Debian chromium, headless)"
npm run e2e
