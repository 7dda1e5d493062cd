package store

import (
	"fmt"
	"io"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/settings"
)

func TestClusterSummary(t *testing.T) {
	node := func(shard, replica int, status NodeStatus) NodeState {
		n := NodeState{Shard: shard, Replica: replica, Host: "ch", Port: 9000 + 10*shard + replica, Status: status}
		switch status {
		case NodeUnreachable:
			n.Error = "connection refused"
		case NodeIncomplete:
			n.Missing = []string{"kpi_rollup_1h_mv"}
		case NodeReadonly:
			n.ReadonlyTables = []string{"kpi_samples_local"}
		}
		return n
	}
	for _, c := range []struct {
		name  string
		nodes []NodeState
		ok    bool
		want  []string
	}{
		{"all ready", []NodeState{node(1, 1, NodeReady), node(1, 2, NodeReady), node(2, 1, NodeReady), node(2, 2, NodeReady)}, true,
			[]string{"Cluster c: 4 of 4 servers ready."}},
		{"one replica down", []NodeState{node(1, 1, NodeReady), node(1, 2, NodeUnreachable), node(2, 1, NodeReady), node(2, 2, NodeReady)}, true,
			[]string{"3 of 4 servers ready", "ch:9012 (shard 1, replica 2) is unreachable: connection refused"}},
		{"a whole shard down", []NodeState{node(1, 1, NodeReady), node(1, 2, NodeReady), node(2, 1, NodeUnreachable), node(2, 2, NodeUnreachable)}, false,
			[]string{"2 of 4 servers ready", "No server of shard 2 answers"}},
		{"a read-only replica still serves its shard", []NodeState{node(1, 1, NodeReadonly), node(1, 2, NodeUnreachable)}, true,
			[]string{"0 of 2 servers ready", "read-only tables kpi_samples_local"}},
		{"a server lacking a view", []NodeState{node(1, 1, NodeReady), node(1, 2, NodeIncomplete)}, false,
			[]string{"missing kpi_rollup_1h_mv: apply migrations again with POST admin/migrate"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg, ok := ClusterSummary("c", c.nodes)
			require.Equal(t, c.ok, ok, msg)
			for _, w := range c.want {
				require.Contains(t, msg, w)
			}
		})
	}
}

func TestClassifyShardDown(t *testing.T) {
	s := settings.Settings{Host: "ch", Port: 9000, Database: "kpiflow", Cluster: "main"}
	err := Classify(s, fmt.Errorf("read: %w", &clickhouse.Exception{Code: 279, Message: "All connection tries failed."}))
	var ce *ConnError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, CategoryUnreachable, ce.Category)
	require.Contains(t, err.Error(), `No server of one shard of cluster "main" answers`)
}

func TestClassifyClosedByServer(t *testing.T) {
	s := settings.Settings{Host: "ch", Port: 9000, Database: "kpiflow", Cluster: "main"}
	err := Classify(s, fmt.Errorf("run the kpi query: handshake: failed to read packet from ch:9000 (conn_id=3): read: %w", io.EOF))
	var ce *ConnError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, CategoryUnreachable, ce.Category)
	require.Contains(t, err.Error(), "may be restarting: retry")
	require.ErrorIs(t, err, io.EOF)
	require.NotErrorAs(t, Classify(s, io.EOF), &ce, "an EOF that is not a read from the server stays as it is")
}
