package demo

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/schema"
)

// Stream names, as in POST .../resources/ingest/<stream>.
const (
	StreamTeams       = schema.StreamTeams
	StreamPipelines   = schema.StreamPipelines
	StreamDeployments = schema.StreamDeployments
	StreamIncidents   = schema.StreamIncidents
	StreamTasks       = schema.StreamTasks
	StreamKPI         = schema.StreamKPI
)

// Streams lists every stream in the order a loader should send them: the team
// tree first, then what refers to it, the large KPI stream last.
func Streams() []string {
	return []string{StreamTeams, StreamPipelines, StreamDeployments, StreamIncidents, StreamTasks, StreamKPI}
}

// Team is one node of the team tree (ingest stream "teams").
type Team struct {
	Team        string `json:"team"`
	Parent      string `json:"parent"` // "" for the root
	DisplayName string `json:"display_name"`
	EventID     string `json:"event_id"`
}

// KPISample is one measurement (ingest stream "kpi").
type KPISample struct {
	TS          time.Time         `json:"ts"`
	Metric      string            `json:"metric"`
	Value       float64           `json:"value"`
	Team        string            `json:"team"`
	Project     string            `json:"project"`
	Service     string            `json:"service"`
	Environment string            `json:"environment"`
	Source      string            `json:"source"`
	Labels      map[string]string `json:"labels,omitempty"` // shared by a series' samples: do not modify
	EventID     string            `json:"event_id"`
}

// Task state categories, as in task_events.state_category.
const (
	CategoryTodo       = schema.CategoryTodo
	CategoryInProgress = schema.CategoryInProgress
	CategoryDone       = schema.CategoryDone
)

// Task states the generator uses, with their categories.
const (
	StateToDo       = "To Do"       // todo
	StateInProgress = "In Progress" // in_progress
	StateBlocked    = "Blocked"     // in_progress
	StateInReview   = "In Review"   // in_progress
	StateDone       = "Done"        // done
)

// TaskEvent is one change of one task (ingest stream "tasks"); it carries
// the whole task as it is after the change.
type TaskEvent struct {
	TS            time.Time `json:"ts"`
	TaskID        string    `json:"task_id"`
	Project       string    `json:"project"`
	Team          string    `json:"team"`
	Title         string    `json:"title"`
	Kind          string    `json:"kind"` // story, bug, chore, epic
	State         string    `json:"state"`
	StateCategory string    `json:"state_category"`
	Assignee      string    `json:"assignee"`
	Points        float64   `json:"points"`
	ParentID      string    `json:"parent_id"`
	BlockedBy     []string  `json:"blocked_by"`
	EventID       string    `json:"event_id"`
}

// Deployment results, as in deployments.result.
const (
	ResultSuccess   = schema.ResultSuccess
	ResultFailure   = schema.ResultFailure
	ResultRollback  = schema.ResultRollback
	ResultCancelled = schema.ResultCancelled
)

// Deployment is one deployment (ingest stream "deployments").
type Deployment struct {
	FinishedAt    time.Time  `json:"finished_at"`
	DeploymentID  string     `json:"deployment_id"`
	Service       string     `json:"service"`
	Team          string     `json:"team"`
	Environment   string     `json:"environment"` // production or staging
	Result        string     `json:"result"`
	CommitSHA     string     `json:"commit_sha"`
	FirstCommitAt *time.Time `json:"first_commit_at"` // nil when unknown
	Pipeline      string     `json:"pipeline"`
	EventID       string     `json:"event_id"`
}

// Incident is one incident (ingest stream "incidents").
type Incident struct {
	IncidentID         string     `json:"incident_id"`
	Service            string     `json:"service"`
	Team               string     `json:"team"`
	Severity           string     `json:"severity"` // sev1 (worst) to sev3
	OpenedAt           time.Time  `json:"opened_at"`
	ResolvedAt         *time.Time `json:"resolved_at"` // nil while open at Now
	CausedByDeployment string     `json:"caused_by_deployment"`
	EventID            string     `json:"event_id"`
}

// Pipeline run statuses, as in pipeline_runs.status.
const (
	StatusSuccess   = schema.StatusSuccess
	StatusFailure   = schema.StatusFailure
	StatusCancelled = schema.StatusCancelled
	StatusRunning   = schema.StatusRunning
)

// PipelineRun is one CI/CD run (ingest stream "pipelines").
type PipelineRun struct {
	RunID      string     `json:"run_id"`
	Pipeline   string     `json:"pipeline"`
	Team       string     `json:"team"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"` // nil while running at Now
	EventID    string     `json:"event_id"`
}

// Service is a service a leaf team runs; not a stream, but the dimension
// values the KPI samples and deployments use.
type Service struct {
	Name    string
	Team    string
	Project string
	Region  string
}

// Project is a leaf team's task project; task ids are "<Key>-<n>".
type Project struct {
	Key       string
	Team      string
	Assignees []string
}

// Dataset is everything Generate made, one typed slice per stream, each
// sorted by its time column (KPI samples by ts, then series).
type Dataset struct {
	// Options are the options used, with defaults applied and Now set.
	Options Options
	// From and To bound the window: From = Now - Days, To = Now.
	From, To time.Time

	Teams       []Team
	Projects    []Project
	Services    []Service
	KPI         []KPISample
	Tasks       []TaskEvent
	Deployments []Deployment
	Incidents   []Incident
	Pipelines   []PipelineRun
}

// Len is the number of rows of a stream, 0 for an unknown stream.
func (d *Dataset) Len(stream string) int {
	rows, ok := d.rows(stream)
	if !ok {
		return 0
	}
	return rows.Len()
}

// rows is a stream's slice of rows.
func (d *Dataset) rows(stream string) (reflect.Value, bool) {
	switch stream {
	case StreamTeams:
		return reflect.ValueOf(d.Teams), true
	case StreamKPI:
		return reflect.ValueOf(d.KPI), true
	case StreamTasks:
		return reflect.ValueOf(d.Tasks), true
	case StreamDeployments:
		return reflect.ValueOf(d.Deployments), true
	case StreamIncidents:
		return reflect.ValueOf(d.Incidents), true
	case StreamPipelines:
		return reflect.ValueOf(d.Pipelines), true
	}
	return reflect.Value{}, false
}

// LatestTasks is each task's last event, as tasks_current holds it, sorted by
// task id.
func (d *Dataset) LatestTasks() []TaskEvent {
	last := map[string]int{}
	for i, e := range d.Tasks {
		if j, ok := last[e.TaskID]; !ok || !e.TS.Before(d.Tasks[j].TS) {
			last[e.TaskID] = i
		}
	}
	out := make([]TaskEvent, 0, len(last))
	for _, i := range last {
		out = append(out, d.Tasks[i])
	}
	slices.SortFunc(out, func(a, b TaskEvent) int { return strings.Compare(a.TaskID, b.TaskID) })
	return out
}
