#!/usr/bin/env bash
# Conformance run on a modern ClickHouse: every DDL statement and every query
# kpiflow generates for the releases users run (22.8 to 26.x), executed on
# ClickHouse 26.7 embedded (chDB's libchdb.so, npm package @chdb/lib-linux-x64-gnu),
# with the answers compared to the 18.16 test server's on the same data.
# The last line says what ran:
#   modern ClickHouse <version>: N DDL statements, M queries, all equal to 18.16
# and the script exits non-zero on any failure or unexplained difference.
# The run is pkg/internal/conformance's TestModernClickHouse (build tag chdb);
# the intended differences and tolerances are listed there (differences.go,
# tolerance.go). Called by scripts/test.sh; by hand:
#   eval "$(scripts/clickhouse.sh start)"; scripts/modern-clickhouse.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# libchdb.so comes from chDB's platform package, pinned in tests/chdb's
# lockfile (kept apart from the frontend's packages, so the build's npm ci
# does not fetch 550 MB); .ci/run installs it, and so does this script.
lib=tests/chdb/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so
if [ ! -f "$lib" ]; then
  npm ci --no-audit --no-fund --prefix tests/chdb
fi
if [ ! -f "$lib" ]; then
  echo "modern ClickHouse: $lib is missing after npm ci --prefix tests/chdb: chDB's package exists for linux x64 (glibc) only" >&2
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
