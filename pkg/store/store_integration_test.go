//go:build integration

package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

func TestIntegrationCustomSettings(t *testing.T) {
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tests := []struct {
		name    string
		custom  []settings.CustomSetting
		wantErr string
	}{
		{"integer and boolean values reach the server", []settings.CustomSetting{
			{Setting: "max_threads", Value: "1"}, {Setting: "join_use_nulls", Value: "true"}}, ""},
		{"text value on an old server names the setting", []settings.CustomSetting{
			{Setting: "format_csv_delimiter", Value: ";"}}, `"format_csv_delimiter"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := db.Settings(t)
			s.CustomSettings = tt.custom
			st, err := store.Open(ctx, s)
			require.NoError(t, err)
			defer st.Close()
			d, err := st.Dialect(ctx)
			if tt.wantErr == "" {
				require.NoError(t, err)
				var threads string
				require.NoError(t, st.Conn().QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'max_threads'").Scan(&threads))
				require.Equal(t, "1", threads)
				return
			}
			if d.Version.AtLeast(19, 1) {
				t.Skip("text settings are accepted by this server version")
			}
			require.Error(t, err)
			var ce *store.ConnError
			require.True(t, errors.As(err, &ce))
			require.Contains(t, err.Error(), tt.wantErr)
			require.Contains(t, err.Error(), "jsonData.customSettings")
		})
	}
}
