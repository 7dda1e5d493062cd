package upkeep

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

func TestHealthNote(t *testing.T) {
	j := New()
	note, failed := j.HealthNote(false)
	require.Empty(t, note)
	require.False(t, failed)
	j.autoRunning = true
	note, failed = j.HealthNote(false)
	require.Equal(t, "Automatic migration is running.", note)
	require.False(t, failed)
	j.autoRunning, j.autoErr = false, errors.New("down")
	note, failed = j.HealthNote(false)
	require.Equal(t, "Automatic migration failed (retrying in the background): down.", note)
	require.True(t, failed)
	note, failed = j.HealthNote(true)
	require.Empty(t, note, "a ready schema makes an old failure moot")
	require.False(t, failed)
	j.autoErr, j.retentionErr = nil, errors.New("boom")
	note, failed = j.HealthNote(true)
	require.Equal(t, "Applying retention failed: boom.", note)
	require.True(t, failed)
	j.Stop() // never started: returns at once
}

type fakeStore struct {
	migrateErr, retentionErr error
	migrations, retentions   chan struct{}
}

func (f *fakeStore) Migrate(context.Context) (store.MigrateResult, error) {
	f.migrations <- struct{}{}
	return store.MigrateResult{}, f.migrateErr
}

func (f *fakeStore) ApplyRetention(context.Context, time.Time) ([]store.RetentionAction, error) {
	f.retentions <- struct{}{}
	return nil, f.retentionErr
}

type nopLog struct{}

func (nopLog) Info(string, ...any)  {}
func (nopLog) Error(string, ...any) {}

func TestStartRunsWhatTheSettingsAskFor(t *testing.T) {
	s := settings.Settings{DialTimeout: time.Second, QueryTimeout: time.Second}
	f := &fakeStore{migrateErr: errors.New("down"), retentionErr: errors.New("no rights"),
		migrations: make(chan struct{}, 10), retentions: make(chan struct{}, 10)}

	j := New()
	j.Start(f, s, nopLog{})
	j.Stop()
	require.Empty(t, f.migrations, "neither autoMigrate nor retention: nothing runs")

	s.AutoMigrate, s.RetentionDays = true, map[string]int{"kpi_samples": 3}
	j = New()
	j.Start(f, s, nopLog{})
	defer j.Stop()
	<-f.migrations
	<-f.retentions
	require.Eventually(t, func() bool {
		note, failed := j.HealthNote(false)
		return failed && note == "Automatic migration failed (retrying in the background): down."
	}, 5*time.Second, 10*time.Millisecond)
	j.MigratedByHand()
	note, failed := j.HealthNote(false)
	require.Equal(t, "Applying retention failed: no rights.", note)
	require.True(t, failed)
}

func TestLockHonoursTheContext(t *testing.T) {
	j := New()
	require.NoError(t, j.Lock(context.Background()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorContains(t, j.Lock(ctx), "wait for other schema work")
	j.Unlock()
	require.NoError(t, j.Lock(context.Background()))
	j.Unlock()
	require.Equal(t, 5*time.Second, Timeout(settings.Settings{DialTimeout: time.Second, QueryTimeout: 2 * time.Second}))
}
