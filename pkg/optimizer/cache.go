package optimizer

import (
	"context"

	"github.com/tetratelabs/wazero"
)

// Cache holds compiled modules for every Host configured with it, so a
// module compiles once per process, not once per data source instance.
//
//	cache := optimizer.NewCache()
//	defer cache.Close(ctx)
//	h, err := optimizer.New(ctx, optimizer.NewConfig().WithCache(cache))
//
// # Notes
//
// Entries are keyed by the module's bytes; the cache lives in memory until
// Close. Hosts using it must be closed first.
type Cache struct {
	c wazero.CompilationCache
}

// NewCache returns an empty in-memory cache.
func NewCache() *Cache { return &Cache{c: wazero.NewCompilationCache()} }

// Close releases the compiled code.
func (c *Cache) Close(ctx context.Context) error { return c.c.Close(ctx) }
