package live

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// PathPrefix starts every channel path this package hands out; Grafana's
// channel is "ds/<data source uid>/" + path.
const PathPrefix = "live/"

// keyLen is the key's length: 130 bits of SHA-256 in base32, short enough
// for Grafana's 160-character channel ids with a 40-character uid.
const keyLen = 26

var pathRe = regexp.MustCompile(`^live/[a-z2-7]{26}$`)

// Key names the channel of a live query: a hash of kind (what the channel
// pushes, e.g. "kpi/timeseries") and the plan in canonical form, that is
// without its time range or row limit at every level, since a live query's
// stream is about what comes next, whatever window the panel shows. Two
// panels asking the same thing share one channel and one poll.
//
//	key := live.Key("taskflow-events", plan.Plan{Source: "task_events", Filters: scope})
func Key(kind string, p plan.Plan) string {
	c := canonical(p)
	raw, err := json.Marshal(struct {
		Kind string    `json:"kind"`
		Plan plan.Plan `json:"plan"`
	}{kind, c})
	if err != nil {
		// A plan is plain data; this cannot fail. Keep the key unique anyway.
		raw = []byte(fmt.Sprintf("%s\x00%#v", kind, c))
	}
	sum := sha256.Sum256(raw)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))[:keyLen]
}

// Path is the channel path of key (what SubscribeStream and RunStream get).
func Path(key string) string { return PathPrefix + key }

// ParsePath returns the key of a channel path, or an error saying what a
// path must look like.
func ParsePath(path string) (string, error) {
	if !pathRe.MatchString(path) {
		return "", fmt.Errorf("channel path %q: expected %s followed by a %d-character key from a live query's frame", path, PathPrefix, keyLen)
	}
	return strings.TrimPrefix(path, PathPrefix), nil
}

// canonical is p without time ranges and limits, nested plans included.
func canonical(p plan.Plan) plan.Plan {
	p.TimeRange, p.Limit = plan.TimeRange{}, 0
	if p.From != nil {
		inner := canonical(*p.From)
		p.From = &inner
	}
	return p
}
