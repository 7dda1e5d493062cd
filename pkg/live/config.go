package live

import "time"

// Config tunes a Hub. The zero value is not useful; start from DefaultConfig
// and change it with the With methods, each of which returns a changed copy.
//
//	cfg := live.DefaultConfig().WithPollInterval(500 * time.Millisecond)
type Config struct {
	pollInterval  time.Duration
	lag           time.Duration
	maxWindowRows int
	queueFrames   int
	maxQueuedRows int
	idleTimeout   time.Duration
	maxChannels   int
	maxRetryPause time.Duration
}

// DefaultConfig is what the plugin runs with: a poll every second, a 10 s
// window for late visibility, 50,000 rows tracked per channel.
func DefaultConfig() Config {
	return Config{
		pollInterval:  time.Second,
		lag:           10 * time.Second,
		maxWindowRows: 50_000,
		queueFrames:   64,
		maxQueuedRows: 100_000,
		idleTimeout:   time.Minute,
		maxChannels:   1000,
		maxRetryPause: 30 * time.Second,
	}
}

// WithPollInterval sets how often a channel asks ClickHouse for rows written
// by others (ingest through this process wakes it at once).
func (c Config) WithPollInterval(d time.Duration) Config { c.pollInterval = d; return c }

// WithLag sets how long after a newer row a row may still become visible and
// be delivered (see the package comment's watermark).
func (c Config) WithLag(d time.Duration) Config { c.lag = d; return c }

// WithMaxWindowRows bounds the row identities a channel keeps (its memory).
func (c Config) WithMaxWindowRows(n int) Config { c.maxWindowRows = n; return c }

// WithQueue bounds what waits for one subscriber: frames, and rows once
// frames are coalesced. A subscriber past both is dropped.
func (c Config) WithQueue(frames, rows int) Config {
	c.queueFrames, c.maxQueuedRows = frames, rows
	return c
}

// WithIdleTimeout sets how long a channel keeps polling without subscribers
// (a panel's query registers it; its subscription follows a moment later).
func (c Config) WithIdleTimeout(d time.Duration) Config { c.idleTimeout = d; return c }

// WithMaxChannels bounds the channels registered; the least recently used
// one without subscribers is forgotten first.
func (c Config) WithMaxChannels(n int) Config { c.maxChannels = n; return c }

// PollInterval is the configured poll interval.
func (c Config) PollInterval() time.Duration { return c.pollInterval }

// Lag is the configured late-visibility window.
func (c Config) Lag() time.Duration { return c.lag }
