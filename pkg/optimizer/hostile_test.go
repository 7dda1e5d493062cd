package optimizer

import (
	"context"
	"encoding/json"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// hostileCase is one misbehaving module and what the notice must say.
type hostileCase struct {
	name   string
	file   string
	answer func(p plan.Plan) any // for answer.wat: the JSON it answers
	reason string                // what the reason says; "a|b" for either
	calls  int                   // in the leak test's 1,000
}

// answerWat fills answer.wat with a JSON answer, escaped for a WAT string.
func answerWat(t testing.TB, answer []byte) []byte {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(string(answer))
	return wat(t, "testdata/hostile/answer.wat", "{{ANSWER}}", esc, "{{LEN}}", strconv.Itoa(len(answer)))
}

func hostileCases() []hostileCase {
	withPlan := func(mod func(p *plan.Plan)) func(p plan.Plan) any {
		return func(p plan.Plan) any {
			raw, _ := json.Marshal(p)
			var q plan.Plan
			_ = json.Unmarshal(raw, &q)
			mod(&q)
			return map[string]any{"plan": q}
		}
	}
	return []hostileCase{
		// (On a machine too busy to run the deadline's check in time, the
		// watchdog may come first.)
		{name: "infinite loop", file: "loop.wat", reason: "ran past its 50ms deadline and was stopped|did not stop at its 50ms deadline", calls: 20},
		{name: "deep recursion", file: "recursion.wat", reason: "did not stop at its 50ms deadline; the watchdog gave up on it 50ms later", calls: 20},
		{name: "memory growth", file: "grow.wat", reason: "trapped: wasm error: unreachable", calls: 60},
		{name: "trap", file: "trap.wat", reason: "trapped: wasm error: unreachable", calls: 80},
		{name: "exit", file: "exit.wat", reason: "exited with code 3", calls: 80},
		{name: "answer outside memory", file: "outside.wat", reason: "lies outside its memory of 65536 bytes", calls: 80},
		{name: "oversized answer", file: "oversized.wat", reason: "its answer has 2097152 bytes, more than the 1048576 allowed", calls: 80},
		{name: "malformed JSON", file: "answer.wat", answer: func(plan.Plan) any { return json.RawMessage(`{"plan": {"source": `) },
			reason: "its answer is not ABI v1 JSON", calls: 80},
		{name: "unknown field", file: "answer.wat", answer: func(plan.Plan) any { return map[string]any{"sql": "DROP TABLE kpi_samples"} },
			reason: `unknown field "sql"`, calls: 100},
		{name: "system.users", file: "answer.wat", answer: withPlan(func(p *plan.Plan) { p.Source = "system.users" }),
			reason: `its plan was rejected: plan.source: unknown table "system.users"`, calls: 80},
		{name: "dropped host filter", file: "answer.wat", answer: withPlan(func(p *plan.Plan) { p.Filters = nil }),
			reason: "its plan was rejected: plan.filters[0]: the host's filter was dropped or changed", calls: 80},
		{name: "raised limit", file: "answer.wat", answer: withPlan(func(p *plan.Plan) { p.Limit *= 10 }),
			reason: "its plan was rejected: plan.limit: raised from 1001 to 10010", calls: 80},
		{name: "widened time range", file: "answer.wat", answer: withPlan(func(p *plan.Plan) { p.TimeRange.From -= 3600 }),
			reason: "its plan was rejected: plan.time_range.from: widened", calls: 80},
		{name: "unanswerable rollup", file: "answer.wat", answer: withPlan(func(p *plan.Plan) {
			p.Source, p.TimeColumn, p.Bucket, p.Aggregations[0].Func = "kpi_rollup_1h", "bucket", 3600, plan.FuncMedian
		}), reason: "its plan was rejected: plan.aggregations[0].func: rollup kpi_rollup_1h cannot answer median", calls: 40},
		// A module written when kpiflow had a 1m rollup: migration 4 dropped it.
		{name: "retired rollup", file: "answer.wat", answer: withPlan(func(p *plan.Plan) { p.Source, p.TimeColumn = "kpi_rollup_1m", "bucket" }),
			reason: `its plan was rejected: plan.source: unknown table "kpi_rollup_1m"`, calls: 40},
	}
}

func hostilePlan(t testing.TB) plan.Plan {
	to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	p := kpiPlan(t, `{"metrics": ["build_seconds"], "aggregation": "avg", "groupBy": ["team"]}`, to.Add(-6*time.Hour), to, 0)
	// An aggregation no rollup answers exactly, for the "unanswerable rollup" case.
	return p
}

// TestHostileModules: each misbehaving module is stopped or its answer
// rejected; the query keeps the plan it had (and the next module in the
// chain still runs); the host stays healthy.
func TestHostileModules(t *testing.T) {
	ctx := context.Background()
	p := hostilePlan(t)
	c := query.Catalog()
	note := Module{Name: "note", Wasm: wat(t, "examples/note/note.wat")}
	for _, hc := range hostileCases() {
		t.Run(hc.name, func(t *testing.T) {
			h := newHost(t, NewConfig().WithBuiltin(false).WithModules(Module{Name: "hostile", Wasm: hc.build(t, p)}, note))
			got, notices := h.Optimize(ctx, p, c)
			require.Equal(t, p, got, "the query keeps the unoptimised plan")
			require.Len(t, notices, 2)
			require.Equal(t, NoticeFailed, notices[0].Kind)
			require.Contains(t, notices[0].Text(), `Optimizer module "hostile" failed after`)
			require.Regexp(t, hc.pattern(), notices[0].Reason)
			require.True(t, notices[0].Warning())
			require.Equal(t, NoticeNoted, notices[1].Kind, "the next module still runs")
			health := h.Health()
			require.Equal(t, StateReady, health[0].State, "one failure does not switch a module off")
			require.Equal(t, uint64(1), health[0].Failures)
			require.Regexp(t, hc.pattern(), health[0].LastFailure)
		})
	}
}

func (hc hostileCase) pattern() string {
	alts := strings.Split(hc.reason, "|")
	for i, a := range alts {
		alts[i] = regexp.QuoteMeta(a)
	}
	return strings.Join(alts, "|")
}

func (hc hostileCase) build(t testing.TB, p plan.Plan) []byte {
	if hc.answer == nil {
		return wat(t, "testdata/hostile/"+hc.file)
	}
	var raw []byte
	switch a := hc.answer(p).(type) {
	case json.RawMessage:
		raw = a
	default:
		var err error
		raw, err = json.Marshal(a)
		require.NoError(t, err)
	}
	return answerWat(t, raw)
}

// TestHostileModulesLeakNothing makes 1,000 calls of misbehaving modules
// and counts goroutines and instances before and after.
func TestHostileModulesLeakNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 1,000 failing calls")
	}
	ctx := context.Background()
	p := hostilePlan(t)
	c := query.Catalog()
	cases := hostileCases()
	wasms := make([][]byte, len(cases))
	total := 0
	for i, hc := range cases {
		wasms[i] = hc.build(t, p)
		total += hc.calls
	}
	require.Equal(t, 1000, total)

	goroutinesBefore := runtime.NumGoroutine()
	var hosts []*Host
	for i, hc := range cases {
		// The breaker would switch them off after a few calls; keep them on.
		h, err := New(ctx, NewConfig().WithBuiltin(false).WithPoolSize(2).WithBreaker(1_000_000, time.Second, time.Second).
			WithModules(Module{Name: hc.name, Wasm: wasms[i]}))
		require.NoError(t, err)
		require.NoError(t, h.Ready(ctx))
		require.Equal(t, 1, h.Health()[0].Instances)
		hosts = append(hosts, h)
	}
	failed := make([]uint64, len(cases))
	for i, hc := range cases {
		for range hc.calls {
			got, notices := hosts[i].Optimize(ctx, p, c)
			require.Equal(t, p, got)
			require.Len(t, notices, 1)
			switch notices[0].Kind {
			case NoticeFailed:
				failed[i]++
			case NoticeSkipped:
				// Calls the watchdog gave up on (recursion, or any case on a
				// machine too busy to stop a guest in time) keep their
				// instances busy for a while: the next call may find none.
				require.Contains(t, notices[0].Reason, "instances were busy", hc.name)
			default:
				t.Fatalf("%s: %s", hc.name, notices[0].Text())
			}
		}
	}
	for i, h := range hosts {
		mh := h.Health()[0]
		require.Equal(t, failed[i], mh.Failures, cases[i].name)
		require.Positive(t, mh.Failures, cases[i].name)
		require.Equal(t, StateReady, mh.State)
		// Failed instances are thrown away; at most the pool is left.
		require.LessOrEqual(t, mh.Instances, 2, cases[i].name)
		require.NoError(t, h.Close(ctx))
		require.Equal(t, 0, h.Health()[0].Instances, "closed")
	}
	// Calls the watchdog gave up on end when the module stops (recursion at
	// wazero's stack ceiling, after a few hundred ms).
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutinesBefore && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutinesBefore {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after:\n%s", goroutinesBefore, n, buf[:runtime.Stack(buf, true)])
	}
}
