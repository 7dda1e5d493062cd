#!/usr/bin/env bash
# Conformance run on a modern ClickHouse: every DDL statement and every query
# kpiflow generates for the releases users run (22.8 to 26.x), executed on
# ClickHouse 26.7 embedded (chDB's libchdb.so, from the chdb devDependency),
# with the answers compared to the 18.16 test server's on the same data.
# The last line says what ran:
#   modern ClickHouse <version>: N DDL statements, M queries, all equal to 18.16
# and the script exits non-zero on any failure or unexplained difference.
# The run is pkg/internal/conformance's TestModernClickHouse (build tag chdb);
# the intended differences and tolerances are listed there (differences.go,
# tolerance.go). Called by scripts/test.sh; by hand:
#   npm ci; eval "$(scripts/clickhouse.sh start)"; scripts/modern-clickhouse.sh
set -euo pipefail
cd "$(dirname "$0")/.."

lib=node_modules/@chdb/lib-linux-x64-gnu/libchdb.so
if [ ! -f "$lib" ]; then
  echo "modern ClickHouse: $lib is missing: run npm ci (the chdb devDependency installs @chdb/lib-linux-x64-gnu; linux x64 only)" >&2
  exit 1
fi
export KPIFLOW_CHDB_LIB="$PWD/$lib"

if [ -z "${CLICKHOUSE_ADDR:-}" ]; then
  eval "$(scripts/clickhouse.sh start)"
  trap 'scripts/clickhouse.sh stop' EXIT
fi
export CLICKHOUSE_ADDR

go vet -tags chdb ./pkg/internal/conformance ./pkg/internal/chdb
log=$(mktemp)
set +e
go test -tags chdb -count=1 -v -timeout 15m -run '^(TestModernClickHouse|TestChDB)$' ./pkg/internal/chdb ./pkg/internal/conformance 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary=$(grep '^modern ClickHouse [0-9.]*:' "$log" | tail -n 1 || true)
rm -f "$log"
if [ -z "$summary" ]; then
  summary="modern ClickHouse: the run stopped before comparing (see the test output above)"
  [ "$status" -ne 0 ] || status=1
fi
echo
echo "$summary"
exit "$status"
