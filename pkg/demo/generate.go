package demo

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by Generate to zero Options fields.
const (
	DefaultDays        = 90
	DefaultTeams       = 6
	DefaultKPIInterval = 5 * time.Minute
	// MaxTeams is the number of leaf teams the catalogue has.
	MaxTeams = 9
	// MaxDays bounds the window so a typo cannot ask for millions of rows.
	MaxDays = 730
)

// Options choose the dataset.
//
//	demo.Options{Seed: 7, Days: 30, Teams: 4, Now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
type Options struct {
	// Seed selects the dataset; the same seed gives the same rows.
	Seed int64
	// Days is the window's length, ending at Now (default 90).
	Days int
	// Now ends the window. Zero means the current time rounded down to
	// KPIInterval, which makes Generate depend on the clock: pass it to get
	// a fixed dataset.
	Now time.Time
	// Teams is the number of leaf teams, 1 to MaxTeams (default 6), spread
	// over two or three groups under one organisation.
	Teams int
	// KPIInterval is the spacing of service KPI samples (default 5m), from 1m to 1h.
	KPIInterval time.Duration
}

// WithDefaults returns o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.Days == 0 {
		o.Days = DefaultDays
	}
	if o.Teams == 0 {
		o.Teams = DefaultTeams
	}
	if o.KPIInterval == 0 {
		o.KPIInterval = DefaultKPIInterval
	}
	if o.Now.IsZero() {
		o.Now = time.Now().Truncate(max(o.KPIInterval, time.Second))
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	return o
}

// Validate names the first option out of range (after defaults).
func (o Options) Validate() error {
	o = o.WithDefaults()
	switch {
	case o.Days < 1 || o.Days > MaxDays:
		return fmt.Errorf("days: expected 1 to %d, got %d", MaxDays, o.Days)
	case o.Teams < 1 || o.Teams > MaxTeams:
		return fmt.Errorf("teams: expected 1 to %d, got %d", MaxTeams, o.Teams)
	case o.KPIInterval < time.Minute || o.KPIInterval > time.Hour:
		return fmt.Errorf("kpi interval: expected 1m to 1h, got %s", o.KPIInterval)
	case o.KPIInterval%time.Second != 0:
		return fmt.Errorf("kpi interval: expected whole seconds, got %s", o.KPIInterval)
	}
	return nil
}

// leafSpec is one leaf team of the catalogue, in the order teams are taken,
// which alternates groups so a small --teams still shows a tree.
type leafSpec struct {
	name, display, group, project string
	services                      []string
}

func catalogue() []leafSpec {
	return []leafSpec{
		{"checkout", "Checkout", "product", "CHK", []string{"checkout-api", "payments"}},
		{"infra", "Infrastructure", "platform", "INFRA", []string{"gateway"}},
		{"analytics", "Analytics", "data", "ANL", []string{"events-api"}},
		{"search", "Search", "product", "SRCH", []string{"search-api", "indexer"}},
		{"sre", "Site Reliability", "platform", "SRE", []string{"alerting"}},
		{"mobile", "Mobile", "product", "MOB", []string{"mobile-bff"}},
		{"ml", "Machine Learning", "data", "ML", []string{"recommender"}},
		{"devex", "Developer Experience", "platform", "DEVX", []string{"ci-runner"}},
		{"growth", "Growth", "product", "GRW", []string{"experiments"}},
	}
}

const (
	orgTeam    = "acme"
	orgDisplay = "Acme Engineering"
	day        = 24 * time.Hour
	// taskLookback is how far before the window tasks are generated, so the
	// window opens with work already in flight.
	taskLookback = 90
	// epicPeriod is the length in days of one epic.
	epicPeriod = 28
	// maxTasksPerDay caps a project's new tasks per day (task numbers are
	// day*10 + k).
	maxTasksPerDay = 9
)

func groupDisplay(group string) string {
	switch group {
	case "platform":
		return "Platform"
	case "product":
		return "Product"
	}
	return "Data"
}

// teamProfile holds a leaf team's seeded working habits.
type teamProfile struct {
	spec        leafSpec
	people      []string
	deployRate  float64 // production deployments per service per weekday
	cfr         float64 // share of production deployments that cause an incident
	leadMedian  time.Duration
	taskRate    float64 // new tasks per weekday
	cycleMedian time.Duration
	cycleSigma  float64
	ciRate      float64 // CI runs per weekday
	ciMedian    time.Duration
	coverage    float64 // coverage_pct around which the project drifts
}

type serviceProfile struct {
	Service
	team     *teamProfile
	latency  float64 // ms at no load
	errRate  float64 // ratio at no load
	rps      float64 // requests per second at full load
	key      uint64
	labels   map[string]string
	incident []span // incidents of this service, by opened time
}

type span struct{ from, to time.Time }

func firstNames() []string {
	return []string{
		"ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kofi", "lena", "mateo", "nia",
		"omar", "priya", "quinn", "rosa", "sam", "tariq", "uma", "vik", "wen", "xavi", "yara", "zoe", "alex", "bea",
		"carlos", "dina", "emil", "freya", "goran", "ines", "jun", "kai", "lior", "maya", "noor", "olga", "pablo",
		"rhea", "sven", "tomas", "ula", "vera", "will", "yusuf", "zain", "aiko", "bruno", "cleo", "dev", "esme",
		"felix", "gia", "hugo", "isla", "jonas", "kira", "leo", "mila", "nils", "oona",
	}
}

// Generate makes the dataset for o (see Options for defaults). Out-of-range
// options are clamped; call o.Validate first to report them instead.
func Generate(o Options) Dataset {
	o = o.WithDefaults()
	o.Days = min(max(o.Days, 1), MaxDays)
	o.Teams = min(max(o.Teams, 1), MaxTeams)
	o.KPIInterval = min(max(o.KPIInterval.Truncate(time.Second), time.Minute), time.Hour)
	g := &generator{o: o, seed: uint64(o.Seed), to: o.Now, from: o.Now.Add(-time.Duration(o.Days) * day), words: newVocabulary()}
	g.teams()
	for _, tp := range g.profiles {
		g.tasks(tp)
		g.ci(tp)
	}
	for _, sp := range g.services {
		g.deployments(sp)
	}
	g.kpi()

	ds := Dataset{
		Options: o, From: g.from, To: g.to,
		Teams: g.ds.Teams, Projects: g.ds.Projects, Services: make([]Service, len(g.services)),
		KPI: g.ds.KPI, Tasks: g.ds.Tasks, Deployments: g.ds.Deployments, Incidents: g.ds.Incidents, Pipelines: g.ds.Pipelines,
	}
	for i, sp := range g.services {
		ds.Services[i] = sp.Service
	}
	slices.SortStableFunc(ds.Tasks, func(a, b TaskEvent) int { return a.TS.Compare(b.TS) })
	slices.SortFunc(ds.Deployments, func(a, b Deployment) int {
		return cmp.Or(a.FinishedAt.Compare(b.FinishedAt), strings.Compare(a.DeploymentID, b.DeploymentID))
	})
	slices.SortFunc(ds.Incidents, func(a, b Incident) int {
		return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), strings.Compare(a.IncidentID, b.IncidentID))
	})
	slices.SortFunc(ds.Pipelines, func(a, b PipelineRun) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt), strings.Compare(a.RunID, b.RunID))
	})
	return ds
}

type generator struct {
	o        Options
	seed     uint64
	from, to time.Time
	profiles []*teamProfile
	services []*serviceProfile
	ciKPI    []KPISample
	words    vocabulary
	ds       Dataset
}

func (g *generator) inWindow(t time.Time) bool { return !t.Before(g.from) && !t.After(g.to) }

// teams builds the tree, the projects, the services and each team's habits.
func (g *generator) teams() {
	specs := catalogue()[:g.o.Teams]
	people := firstNames()
	r := newRNG(g.seed, strHash("people"))
	r.Shuffle(len(people), func(i, j int) { people[i], people[j] = people[j], people[i] })

	g.ds.Teams = append(g.ds.Teams, team(orgTeam, "", orgDisplay))
	var groups []string
	for _, s := range specs {
		if !slices.Contains(groups, s.group) {
			groups = append(groups, s.group)
		}
	}
	slices.Sort(groups)
	for _, grp := range groups {
		g.ds.Teams = append(g.ds.Teams, team(grp, orgTeam, groupDisplay(grp)))
	}
	next := 0
	for _, s := range specs {
		g.ds.Teams = append(g.ds.Teams, team(s.name, s.group, s.display))
		r := newRNG(g.seed, strHash("team"), strHash(s.name))
		n := 3 + r.IntN(5)
		tp := &teamProfile{
			spec:        s,
			people:      people[next : next+n],
			deployRate:  r.between(1.5, 5),
			cfr:         r.between(0.05, 0.15),
			leadMedian:  time.Duration(r.between(3, 36) * float64(time.Hour)).Round(time.Minute),
			taskRate:    float64(n) * r.between(0.3, 0.55),
			cycleMedian: time.Duration(r.between(1.5, 5) * float64(day)).Round(time.Minute),
			cycleSigma:  r.between(0.6, 1.0),
			ciRate:      r.between(6, 14),
			ciMedian:    time.Duration(r.between(5, 15) * float64(time.Minute)).Round(time.Second),
			coverage:    r.between(55, 85),
		}
		next += n
		g.profiles = append(g.profiles, tp)
		g.ds.Projects = append(g.ds.Projects, Project{Key: s.project, Team: s.name, Assignees: slices.Clone(tp.people)})
		for _, name := range s.services {
			sr := newRNG(g.seed, strHash("service"), strHash(name))
			region := pick(sr, []string{"eu-west-1", "us-east-1", "ap-southeast-2"})
			g.services = append(g.services, &serviceProfile{
				Service: Service{Name: name, Team: s.name, Project: s.project, Region: region},
				team:    tp,
				latency: sr.between(60, 320),
				errRate: sr.between(0.0005, 0.008),
				rps:     sr.between(20, 900),
				key:     mix(g.seed, strHash("kpi"), strHash(name)),
				labels:  map[string]string{"region": region},
			})
		}
	}
}

func team(name, parent, display string) Team {
	return Team{Team: name, Parent: parent, DisplayName: display,
		EventID: "t" + hex16(mix(strHash(name), strHash(parent), strHash(display)))}
}

// epochDay numbers days since 2020-01-01, which keeps task numbers short.
const epochDay = 18262

func dayNumber(t time.Time) int64 { return t.Unix() / 86400 }

func dayStart(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// weekdayFactor scales activity: weekends are quiet.
func weekdayFactor(t time.Time) float64 {
	switch t.Weekday() {
	case time.Saturday, time.Sunday:
		return 0.1
	}
	return 1
}

// workTime is a time in the working day of d (08:00-19:00 UTC).
func workTime(r rng, d int64) time.Time {
	return dayStart(d).Add(8*time.Hour + time.Duration(r.Int64N(int64(11*time.Hour))).Truncate(time.Second))
}

// ---- tasks ----

// taskCount is the number of tasks a project opens on day d.
func (g *generator) taskCount(tp *teamProfile, d int64) int {
	r := newRNG(g.seed, strHash("taskday"), strHash(tp.spec.project), uint64(d))
	return min(r.poisson(tp.taskRate*weekdayFactor(dayStart(d))), maxTasksPerDay)
}

// vocabulary holds the word lists task titles are made of.
type vocabulary struct{ verbs, objects, bugs []string }

func newVocabulary() vocabulary {
	return vocabulary{
		verbs: []string{"Add", "Improve", "Refactor", "Migrate", "Document", "Speed up", "Simplify", "Instrument", "Harden", "Remove"},
		objects: []string{
			"retry logic", "login flow", "cart totals", "search ranking", "CSV export", "alert routing", "rate limiter",
			"feature flags", "checkout form", "cache layer", "onboarding emails", "audit log", "billing webhook",
			"dashboard filters", "mobile push", "data retention job", "SLO burn alerts", "index rebuild", "API pagination",
			"dependency upgrades",
		},
		bugs: []string{
			"Fix flaky %s test", "Fix timeout in %s", "Fix crash in %s", "Fix wrong totals in %s", "Fix memory leak in %s",
		},
	}
}

type taskTransition struct {
	at        time.Time
	state     string
	category  string
	assignee  string
	blockedBy []string
}

// tasks generates the project's tasks and epics, day by absolute day.
func (g *generator) tasks(tp *teamProfile) {
	key := tp.spec.project
	first := dayNumber(g.from) - taskLookback
	last := dayNumber(g.to)
	for p := (first - epochDay) / epicPeriod; p <= (last-epochDay)/epicPeriod; p++ {
		g.epic(tp, p)
	}
	for d := first; d <= last; d++ {
		n := g.taskCount(tp, d)
		for k := range n {
			r := newRNG(g.seed, strHash("task"), strHash(key), uint64(d), uint64(k))
			id := key + "-" + strconv.FormatInt((d-epochDay)*10+int64(k), 10)
			created := workTime(r, d)
			kind := []string{"story", "bug", "chore"}[r.weighted(0.6, 0.25, 0.15)]
			var points float64
			var title string
			switch kind {
			case "story":
				points = []float64{1, 2, 3, 5, 8}[r.weighted(0.15, 0.25, 0.3, 0.2, 0.1)]
				title = pick(r, g.words.verbs) + " " + pick(r, g.words.objects)
			case "bug":
				points = []float64{1, 2, 3}[r.weighted(0.4, 0.4, 0.2)]
				title = fmt.Sprintf(pick(r, g.words.bugs), pick(r, g.words.objects))
			default:
				points = []float64{1, 2}[r.IntN(2)]
				title = "Chore: " + strings.ToLower(pick(r, g.words.verbs)) + " " + pick(r, g.words.objects)
			}
			parent := ""
			if kind == "story" && r.Float64() < 0.6 {
				parent = key + "-E" + strconv.FormatInt((d-epochDay)/epicPeriod, 10)
			}
			assignee := pick(r, tp.people)

			// Most work starts within days; a third waits in the backlog
			// for weeks, which gives forecasts a backlog to burn down.
			wait := r.duration(36*time.Hour, 1.1, 10*time.Minute)
			if r.Float64() < 0.35 {
				wait = r.duration(14*day, 0.9, day)
			}
			start := created.Add(wait)
			work := r.duration(time.Duration(float64(tp.cycleMedian)*math.Pow(points/3, 0.35)), tp.cycleSigma, 30*time.Minute)
			tr := []taskTransition{
				{created, StateToDo, CategoryTodo, "", nil},
				{start, StateInProgress, CategoryInProgress, assignee, nil},
			}
			end := start.Add(work)
			if r.Float64() < 0.18 {
				blockedAt := start.Add(time.Duration(float64(work) * r.between(0.2, 0.6))).Truncate(time.Second)
				blocked := r.duration(day, 0.8, time.Hour)
				blocker := g.blocker(r, tp, d, k)
				if blocker != "" {
					tr = append(tr,
						taskTransition{blockedAt, StateBlocked, CategoryInProgress, assignee, []string{blocker}},
						taskTransition{blockedAt.Add(blocked), StateInProgress, CategoryInProgress, assignee, nil})
					end = end.Add(blocked)
				}
			}
			if r.Float64() < 0.7 {
				review := r.duration(5*time.Hour, 0.8, 10*time.Minute)
				at := end.Add(-review)
				if prev := tr[len(tr)-1].at; !at.After(prev) {
					at = prev.Add(end.Sub(prev) / 2).Truncate(time.Second)
				}
				tr = append(tr, taskTransition{at, StateInReview, CategoryInProgress, assignee, nil})
			}
			tr = append(tr, taskTransition{end, StateDone, CategoryDone, assignee, nil})
			g.emitTask(TaskEvent{TaskID: id, Project: key, Team: tp.spec.name, Title: title, Kind: kind, Points: points, ParentID: parent}, tr)
		}
	}
}

// blocker names an existing task of the project opened in the week before
// task k of day d, or "" when there is none.
func (g *generator) blocker(r rng, tp *teamProfile, d int64, k int) string {
	if k > 0 && r.Float64() < 0.5 {
		return tp.spec.project + "-" + strconv.FormatInt((d-epochDay)*10+int64(r.IntN(k)), 10)
	}
	for j := int64(1); j <= 7; j++ {
		if n := g.taskCount(tp, d-j); n > 0 {
			return tp.spec.project + "-" + strconv.FormatInt((d-j-epochDay)*10+int64(r.IntN(n)), 10)
		}
	}
	return ""
}

// epic is the project's epic for period p: opened at the period's start,
// worked on through it, done some days after it ends.
func (g *generator) epic(tp *teamProfile, p int64) {
	key := tp.spec.project
	r := newRNG(g.seed, strHash("epic"), strHash(key), uint64(p))
	startDay := epochDay + p*epicPeriod
	opened := workTime(r, startDay)
	start := opened.Add(r.duration(2*day, 0.3, time.Hour))
	done := dayStart(startDay + epicPeriod).Add(r.duration(10*day, 0.5, day))
	owner := pick(r, tp.people)
	title := "Initiative: " + pick(r, g.words.verbs) + " " + pick(r, g.words.objects)
	g.emitTask(TaskEvent{TaskID: key + "-E" + strconv.FormatInt(p, 10), Project: key, Team: tp.spec.name, Title: title, Kind: "epic", Points: 0},
		[]taskTransition{
			{opened, StateToDo, CategoryTodo, "", nil},
			{start, StateInProgress, CategoryInProgress, owner, nil},
			{done, StateDone, CategoryDone, owner, nil},
		})
}

// emitTask appends the transitions that fall in the window. A task already
// under way when the window opens gets its state at that moment as an event
// at From (with the event id of the transition that set it); one done before
// the window is left out.
func (g *generator) emitTask(base TaskEvent, tr []taskTransition) {
	before := -1
	for i, t := range tr {
		if t.at.Before(g.from) {
			before = i
		}
	}
	if before == len(tr)-1 && tr[before].category == CategoryDone {
		return
	}
	for i, t := range tr {
		if i < before || t.at.After(g.to) {
			continue
		}
		ev := base
		ev.TS, ev.State, ev.StateCategory, ev.Assignee = t.at, t.state, t.category, t.assignee
		if i == before {
			ev.TS = g.from
		}
		ev.BlockedBy = t.blockedBy
		if ev.BlockedBy == nil {
			ev.BlockedBy = []string{}
		}
		ev.EventID = "e" + hex16(mix(g.seed, strHash("taskevent"), strHash(base.TaskID), uint64(i)))
		g.ds.Tasks = append(g.ds.Tasks, ev)
	}
}

// ---- deployments, incidents, pipeline runs ----

func (g *generator) deployments(sp *serviceProfile) {
	tp := sp.team
	pipeline := sp.Name + "-deploy"
	for d := dayNumber(g.from) - 1; d <= dayNumber(g.to); d++ {
		r := newRNG(g.seed, strHash("deploy"), strHash(sp.Name), uint64(d))
		n := r.poisson(tp.deployRate * weekdayFactor(dayStart(d)))
		for k := range n {
			finished := workTime(r, d)
			sha := r.sha()
			firstCommit := finished.Add(-r.duration(tp.leadMedian, 0.9, 10*time.Minute))
			hasFirst := r.Float64() >= 0.03
			id := "dep-" + hex16(mix(g.seed, strHash(sp.Name), uint64(d), uint64(k)))[:12]
			result := []string{ResultSuccess, ResultFailure, ResultRollback, ResultCancelled}[r.weighted(0.86, 0.06, 0.04, 0.04)]
			stgFinished := finished.Add(-r.duration(40*time.Minute, 0.5, 10*time.Minute))
			stgDuration := r.duration(6*time.Minute, 0.4, time.Minute)
			duration := r.duration(6*time.Minute, 0.4, time.Minute)
			causes := r.Float64()
			incidentRNG := newRNG(g.seed, strHash("incident"), strHash(id))

			first := func(t time.Time) *time.Time {
				if !hasFirst || !firstCommit.Before(t) {
					return nil
				}
				return &firstCommit
			}
			g.deployment(Deployment{FinishedAt: stgFinished, DeploymentID: id + "-stg", Service: sp.Name, Team: tp.spec.name,
				Environment: "staging", Result: ResultSuccess, CommitSHA: sha, FirstCommitAt: first(stgFinished), Pipeline: pipeline}, stgDuration)
			g.deployment(Deployment{FinishedAt: finished, DeploymentID: id, Service: sp.Name, Team: tp.spec.name,
				Environment: "production", Result: result, CommitSHA: sha, FirstCommitAt: first(finished), Pipeline: pipeline}, duration)

			p := 0.0
			switch result {
			case ResultSuccess:
				p = tp.cfr
			case ResultRollback:
				p = 0.5
			}
			if causes < p {
				opened := finished.Add(incidentRNG.duration(25*time.Minute, 1.0, 2*time.Minute))
				g.incident(sp, incidentRNG, "INC-"+hex16(mix(g.seed, strHash(id)))[:10], opened, id)
			}
		}
		// Incidents no deployment caused: about one a month per service.
		if r.Float64() < 1.0/30 {
			ir := newRNG(g.seed, strHash("incident"), strHash(sp.Name), uint64(d))
			opened := dayStart(d).Add(time.Duration(ir.Int64N(int64(day))).Truncate(time.Second))
			g.incident(sp, ir, "INC-"+hex16(mix(g.seed, strHash(sp.Name), uint64(d), 1))[:10], opened, "")
		}
	}
}

func (g *generator) deployment(dep Deployment, duration time.Duration) {
	if !g.inWindow(dep.FinishedAt) {
		return
	}
	fc := "-"
	if dep.FirstCommitAt != nil {
		fc = dep.FirstCommitAt.Format(time.RFC3339)
	}
	dep.EventID = "d" + hex16(mix(strHash(dep.DeploymentID), strHash(dep.Result), strHash(fc), uint64(dep.FinishedAt.Unix())))
	g.ds.Deployments = append(g.ds.Deployments, dep)

	status := StatusSuccess
	switch dep.Result {
	case ResultFailure:
		status = StatusFailure
	case ResultCancelled:
		status = StatusCancelled
	}
	finished := dep.FinishedAt
	g.run(PipelineRun{RunID: "run-" + hex16(strHash(dep.DeploymentID))[:12], Pipeline: dep.Pipeline, Team: dep.Team,
		Status: status, StartedAt: finished.Add(-duration), FinishedAt: &finished})
}

func (g *generator) incident(sp *serviceProfile, r rng, id string, opened time.Time, cause string) {
	severity := []string{"sev1", "sev2", "sev3"}[r.weighted(0.1, 0.3, 0.6)]
	resolved := opened.Add(min(r.duration(70*time.Minute, 1.1, 4*time.Minute), 3*day))
	sp.incident = append(sp.incident, span{opened, resolved})
	if !g.inWindow(opened) {
		return
	}
	inc := Incident{IncidentID: id, Service: sp.Name, Team: sp.Team, Severity: severity, OpenedAt: opened, CausedByDeployment: cause}
	res := uint64(0)
	if !resolved.After(g.to) {
		inc.ResolvedAt = &resolved
		res = uint64(resolved.Unix())
	}
	inc.EventID = "i" + hex16(mix(strHash(id), res))
	g.ds.Incidents = append(g.ds.Incidents, inc)
}

func (g *generator) run(pr PipelineRun) {
	fin := uint64(0)
	if pr.FinishedAt != nil {
		fin = uint64(pr.FinishedAt.Unix())
	}
	pr.EventID = "p" + hex16(mix(strHash(pr.RunID), strHash(pr.Status), fin))
	g.ds.Pipelines = append(g.ds.Pipelines, pr)
}

// ci generates the project's CI runs, with build_duration_s and
// coverage_pct samples when they finish.
func (g *generator) ci(tp *teamProfile) {
	pipeline := strings.ToLower(tp.spec.project) + "-ci"
	labels := map[string]string{"pipeline": pipeline}
	covKey := mix(g.seed, strHash("coverage"), strHash(pipeline))
	phase := unit(covKey) * 2 * math.Pi
	for d := dayNumber(g.from); d <= dayNumber(g.to); d++ {
		r := newRNG(g.seed, strHash("ci"), strHash(pipeline), uint64(d))
		n := r.poisson(tp.ciRate * weekdayFactor(dayStart(d)))
		for k := range n {
			started := dayStart(d).Add(7*time.Hour + time.Duration(r.Int64N(int64(13*time.Hour))).Truncate(time.Second))
			duration := r.duration(tp.ciMedian, 0.35, 30*time.Second)
			status := []string{StatusSuccess, StatusFailure, StatusCancelled}[r.weighted(0.84, 0.12, 0.04)]
			if status == StatusCancelled {
				duration = time.Duration(float64(duration) * r.between(0.1, 0.8)).Truncate(time.Second)
			}
			if !g.inWindow(started) {
				continue
			}
			id := "run-" + hex16(mix(g.seed, strHash(pipeline), uint64(d), uint64(k)))[:12]
			finished := started.Add(duration)
			pr := PipelineRun{RunID: id, Pipeline: pipeline, Team: tp.spec.name, Status: status, StartedAt: started}
			if finished.After(g.to) {
				pr.Status = StatusRunning
				g.run(pr)
				continue
			}
			pr.FinishedAt = &finished
			g.run(pr)
			if status == StatusCancelled {
				continue
			}
			g.ciKPI = append(g.ciKPI, KPISample{TS: finished, Metric: "build_duration_s", Value: duration.Seconds(),
				Team: tp.spec.name, Project: tp.spec.project, Source: "ci", Labels: labels,
				EventID: "k" + hex16(mix(strHash(id), strHash("build_duration_s")))})
			if status == StatusSuccess {
				days := float64(finished.Unix()) / 86400
				cov := tp.coverage + 4*math.Sin(2*math.Pi*days/61+phase) + 0.4*normal(mix2(covKey, uint64(finished.Unix())))
				g.ciKPI = append(g.ciKPI, KPISample{TS: finished, Metric: "coverage_pct", Value: round(min(max(cov, 0), 100), 2),
					Team: tp.spec.name, Project: tp.spec.project, Source: "ci", Labels: labels,
					EventID: "k" + hex16(mix(strHash(id), strHash("coverage_pct")))})
			}
		}
	}
	slices.SortFunc(g.ciKPI, func(a, b KPISample) int { return a.TS.Compare(b.TS) })
}

// ---- service KPIs ----

// load is a service's traffic level in (0, 1]: a daily curve peaking at
// 14:00 UTC and quiet weekends.
func load(t time.Time) float64 {
	h := float64(t.Unix()%86400) / 3600
	daily := 0.55 + 0.45*math.Sin(2*math.Pi*(h-8)/24)
	switch t.Weekday() {
	case time.Saturday:
		daily *= 0.55
	case time.Sunday:
		daily *= 0.5
	}
	return daily
}

func round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(v*p) / p
}

// ServiceMetrics are the metrics sampled for every service every
// KPIInterval, in their order within one timestamp. The CI metrics
// build_duration_s and coverage_pct come with pipeline runs.
func ServiceMetrics() []string { return []string{"latency_p95_ms", "error_rate", "requests_per_s"} }

func (g *generator) kpi() {
	step := int64(g.o.KPIInterval / time.Second)
	first := (g.from.Unix() + step - 1) / step * step
	n := int((g.to.Unix()-first)/step + 1)
	out := make([]KPISample, 0, n*len(g.services)*3+len(g.ciKPI))
	next := make([]int, len(g.services)) // per service, the first incident not yet over
	for _, sp := range g.services {
		slices.SortFunc(sp.incident, func(a, b span) int { return a.from.Compare(b.from) })
	}
	ci := g.ciKPI
	serviceMetrics := ServiceMetrics()
	for i := range n {
		sec := first + int64(i)*step
		ts := time.Unix(sec, 0).UTC()
		for len(ci) > 0 && ci[0].TS.Before(ts) {
			out = append(out, ci[0])
			ci = ci[1:]
		}
		l := load(ts)
		for si, sp := range g.services {
			inIncident := false
			for next[si] < len(sp.incident) && !sp.incident[next[si]].to.After(ts) {
				next[si]++
			}
			for _, s := range sp.incident[next[si]:] {
				if s.from.After(ts) {
					break
				}
				inIncident = true
			}
			for mi, metric := range serviceMetrics {
				h := mix2(sp.key+uint64(mi), uint64(sec))
				z := normal(h)
				var v float64
				switch mi {
				case 0:
					v = sp.latency * (1 + 0.6*l) * math.Exp(0.08*z)
					if inIncident {
						v *= 2.5 + unit(splitmix(h))
					}
					v = round(v, 1)
				case 1:
					v = sp.errRate * (0.6 + 0.8*l) * math.Exp(0.3*z)
					if inIncident {
						v += 0.02 + 0.13*unit(splitmix(h))
					}
					v = round(min(v, 1), 6)
				default:
					v = round(sp.rps*(0.15+0.85*l)*math.Exp(0.05*z), 2)
				}
				out = append(out, KPISample{TS: ts, Metric: metric, Value: v, Team: sp.Team, Project: sp.Project,
					Service: sp.Name, Environment: "production", Source: "prometheus", Labels: sp.labels,
					EventID: "k" + hex16(splitmix(h^0x5bd1e995))})
			}
		}
	}
	out = append(out, ci...)
	g.ds.KPI = out
}
