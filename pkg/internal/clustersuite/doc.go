// Package clustersuite is the cluster suite: kpiflow on a real ClickHouse
// cluster of 2 shards x 2 replicas with ZooKeeper, driven through Grafana's
// plugin protocol (pkg/internal/plugintest), with servers stopped and killed
// at chosen moments (pkg/internal/chtest).
//
// Its tests carry the build tag cluster and need both the single test server
// and the cluster:
//
//	eval "$(scripts/clickhouse.sh start)"
//	eval "$(scripts/clickhouse-cluster.sh start)"
//	go test -tags cluster -count=1 ./pkg/internal/clustersuite/
//
// scripts/test.sh runs them after the single-server suite.
package clustersuite
