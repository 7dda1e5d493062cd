// Browser harness for the kpiflow panels: renders each panel with fixture frames, outside Grafana.
// Built by tests/e2e/build-harness.mjs (esbuild) and loaded by tests/e2e/panels.test.mjs.
import React, { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import {
  createTheme,
  DataFrame,
  dataFrameFromJSON,
  DataFrameJSON,
  EventBusSrv,
  dateTime,
  FieldType,
  getDefaultTimeRange,
  LoadingState,
  PanelProps,
  ThemeContext,
  TimeRange,
} from '@grafana/data';

import { from } from 'rxjs';
import { BackendSrv, BackendSrvRequest, DataSourceSrv, setBackendSrv, setDataSourceSrv } from '@grafana/runtime';

import type { DataSource } from '../../../src/datasource/DataSource';
import { ForecastPanel } from '../../../src/panels/forecast/ForecastPanel';
import { defaultForecastOptions, ForecastOptions } from '../../../src/panels/forecast/types';
import { makeCfdFrame, makeTasksFrame } from '../../../src/panels/taskflow/fixtures';
import { plugin as taskflowPlugin } from '../../../src/panels/taskflow/module';
import { TaskflowPanel } from '../../../src/panels/taskflow/TaskflowPanel';
import { defaultTaskflowOptions, TaskflowOptions } from '../../../src/panels/taskflow/types';
import { LIVE_EVENTS_FRAME } from '../../../src/types/live';
import { defaultQueries, KpiflowQuery, TaskflowQuery } from '../../../src/types/query';
import { QueryEditor } from '../../../src/views/QueryEditor';
import { grafanaPanelProps, wipLimitOverride } from '../../../src/test/panelProps';

declare global {
  interface Window {
    /** The query editor's last onChange, for the browser test. */
    __lastQuery?: KpiflowQuery;
    __runs?: number;
    /** Appends a task event to the live section's events frame, as Grafana Live does. */
    __pushTaskEvent?: (e: LiveEvent) => void;
  }
}

/**
 * Grafana's services the task-flow panel's Arrow path calls: backendSrv.fetch goes to the page's server
 * (tests/e2e/panels.test.mjs answers POST .../resources/arrow), the data source expands nothing.
 */
setBackendSrv({
  fetch: (req: BackendSrvRequest) =>
    from(
      window
        .fetch(req.url, {
          method: req.method,
          body: JSON.stringify(req.data),
          headers: { 'Content-Type': 'application/json' },
        })
        .then(async (res) => {
          const data = await res.arrayBuffer();
          if (!res.ok) {
            throw { status: res.status, data, config: req };
          }
          return { status: res.status, ok: res.ok, data, headers: res.headers, url: res.url, config: req };
        })
    ),
} as unknown as BackendSrv);
setDataSourceSrv({
  get: async (ref?: { uid?: string } | string) => ({
    uid: typeof ref === 'string' ? ref : (ref?.uid ?? 'kpiflow-e2e'),
    applyTemplateVariables: (q: TaskflowQuery) => q,
  }),
} as unknown as DataSourceSrv);

/** The editor's data source: lists for the pickers, nothing else (queries are not run here). */
const fakeDataSource = {
  getMetrics: async () => ['latency_p95_ms', 'error_rate'],
  getTeams: async () => ['payments', 'platform'],
  getProjects: async () => ['PAY', 'PLAT'],
  getLabelKeys: async () => [],
  getLabelValues: async () => [],
} as unknown as DataSource;

function SqlEditorSection() {
  const [query, setQuery] = useState<KpiflowQuery>({ refId: 'A', ...defaultQueries.sql });
  return (
    <div style={{ width: 900 }}>
      <QueryEditor
        datasource={fakeDataSource}
        query={query}
        onChange={(q) => {
          window.__lastQuery = q;
          setQuery(q);
        }}
        onRunQuery={() => {
          window.__runs = (window.__runs ?? 0) + 1;
        }}
      />
    </div>
  );
}

const theme = createTheme({ colors: { mode: 'dark' } });
const params = new URLSearchParams(window.location.search);
const TASKS = Number(params.get('tasks') ?? 50000);

function panelProps<T>(id: number, series: DataFrame[], options: T, width: number, height: number): PanelProps<T> {
  const timeRange = getDefaultTimeRange();
  return {
    id,
    data: { series, state: LoadingState.Done, timeRange },
    timeRange,
    timeZone: 'utc',
    options,
    transparent: false,
    width,
    height,
    fieldConfig: { defaults: {}, overrides: [] },
    renderCounter: 0,
    title: 'harness',
    eventBus: new EventBusSrv(),
    onOptionsChange: () => {},
    onFieldConfigChange: () => {},
    replaceVariables: (s: string) => s,
    onChangeTimeRange: () => {},
  };
}

/** Frames the Go backend wrote (tests/fixtures/<name>), when present. */
async function loadBackendFixture(name = 'taskflow.json'): Promise<DataFrame[] | null> {
  const res = await fetch(`/fixtures/${name}`);
  if (!res.ok) {
    return null;
  }
  const body: unknown = await res.json();
  const list = extractFrames(body);
  return list.map((f) => dataFrameFromJSON(f));
}

/** Accepts [frames], {frames}, or a QueryDataResponse {results: {A: {frames}}}. */
function extractFrames(body: unknown): DataFrameJSON[] {
  if (Array.isArray(body)) {
    return body as DataFrameJSON[];
  }
  if (body && typeof body === 'object') {
    const o = body as { frames?: DataFrameJSON[]; results?: Record<string, { frames?: DataFrameJSON[] }> };
    if (o.frames) {
      return o.frames;
    }
    if (o.results) {
      return Object.values(o.results).flatMap((r) => r.frames ?? []);
    }
  }
  return [];
}

/** The time range the frames cover, as a dashboard showing them would have. */
function rangeOf(frames: DataFrame[]): TimeRange {
  let from = Infinity;
  let to = -Infinity;
  for (const f of frames) {
    for (const field of f.fields.filter((x) => x.type === FieldType.time)) {
      for (const v of field.values) {
        from = Math.min(from, Number(v));
        to = Math.max(to, Number(v));
      }
    }
  }
  if (!Number.isFinite(from)) {
    return getDefaultTimeRange();
  }
  return { from: dateTime(from), to: dateTime(to), raw: { from: dateTime(from), to: dateTime(to) } };
}

/**
 * The task flow panel as Grafana shows it: field config applied with the plugin's registry.
 * The overrides are what a user might set: counts with no decimals, and a WIP limit of 30 as a
 * threshold on `wip`.
 */
function taskflowProps(id: number, series: DataFrame[], height: number): PanelProps<TaskflowOptions> {
  return grafanaPanelProps({
    plugin: taskflowPlugin,
    id,
    series,
    options: defaultTaskflowOptions,
    // The range of the flow; task rows carry older times of their own.
    timeRange: rangeOf(series.filter((f) => !f.fields.some((x) => x.name === 'task_id'))),
    width: 900,
    height,
    fieldConfig: {
      defaults: { decimals: 0 },
      overrides: [wipLimitOverride(30, 'blue')],
    },
  });
}

/** A panel request as Grafana makes it, with the given targets. */
function withRequest(props: PanelProps<TaskflowOptions>, targets: TaskflowQuery[]): PanelProps<TaskflowOptions> {
  const range = props.timeRange;
  return {
    ...props,
    data: {
      ...props.data,
      request: {
        requestId: `${props.id}`,
        interval: '1h',
        intervalMs: 3_600_000,
        maxDataPoints: 900,
        range,
        scopedVars: {},
        targets,
        timezone: 'utc',
        app: 'dashboard',
        startTime: 0,
      },
    },
  };
}

/** The task list query hidden in the panel, so the panel reads it through POST arrow from `uid`. */
const arrowTasksQuery = (uid: string): TaskflowQuery => ({
  refId: 'T',
  queryType: 'taskflow',
  view: 'tasks',
  projects: ['FIX'],
  hide: true,
  datasource: { type: 'kpiflow-clickhouse-datasource', uid },
});

const DAY = 86_400_000;
const LIVE_DAY = Date.UTC(2026, 10, 20);

interface LiveEvent {
  ts: number;
  task_id: string;
  title: string;
  state: string;
  state_category: string;
}

/**
 * A live taskflow answer: the events frame (empty until Grafana Live appends), the cumulative flow,
 * the task list and the aging view of three tasks (one each to do, in progress, done).
 */
function liveSeries(events: LiveEvent[]): DataFrame[] {
  const days = [0, 1, 2, 3].map((d) => LIVE_DAY - (3 - d) * DAY);
  const col = <K extends keyof LiveEvent>(k: K) => events.map((e) => e[k]);
  return [
    {
      name: LIVE_EVENTS_FRAME,
      refId: 'A',
      length: events.length,
      fields: [
        { name: 'ts', type: FieldType.time, config: {}, values: col('ts') },
        { name: 'task_id', type: FieldType.string, config: {}, values: col('task_id') },
        { name: 'project', type: FieldType.string, config: {}, values: events.map(() => 'LIVE') },
        { name: 'team', type: FieldType.string, config: {}, values: events.map(() => 'payments') },
        { name: 'title', type: FieldType.string, config: {}, values: col('title') },
        { name: 'state', type: FieldType.string, config: {}, values: col('state') },
        { name: 'state_category', type: FieldType.string, config: {}, values: col('state_category') },
        { name: 'assignee', type: FieldType.string, config: {}, values: events.map(() => 'alice') },
      ],
    },
    {
      name: 'cfd',
      refId: 'A',
      length: days.length,
      fields: [
        { name: 'time', type: FieldType.time, config: {}, values: days },
        { name: 'todo', type: FieldType.number, config: {}, values: [3, 2, 1, 1] },
        { name: 'in_progress', type: FieldType.number, config: {}, values: [0, 1, 1, 1] },
        { name: 'done', type: FieldType.number, config: {}, values: [0, 0, 1, 1] },
      ],
    },
    {
      refId: 'B',
      length: 3,
      fields: [
        { name: 'task_id', type: FieldType.string, config: {}, values: ['LIVE-1', 'LIVE-2', 'LIVE-3'] },
        { name: 'title', type: FieldType.string, config: {}, values: ['Move me', 'Started', 'Finished'] },
        { name: 'state', type: FieldType.string, config: {}, values: ['To Do', 'In Progress', 'Done'] },
        { name: 'state_category', type: FieldType.string, config: {}, values: ['todo', 'in_progress', 'done'] },
        { name: 'assignee', type: FieldType.string, config: {}, values: ['alice', 'bob', 'zoë'] },
        { name: 'team', type: FieldType.string, config: {}, values: ['payments', 'payments', 'payments'] },
        { name: 'project', type: FieldType.string, config: {}, values: ['LIVE', 'LIVE', 'LIVE'] },
        { name: 'ts', type: FieldType.time, config: {}, values: [days[0], days[1], days[2]] },
      ],
    },
    {
      refId: 'C',
      length: 1,
      fields: [
        { name: 'task_id', type: FieldType.string, config: {}, values: ['LIVE-2'] },
        { name: 'title', type: FieldType.string, config: {}, values: ['Started'] },
        { name: 'age', type: FieldType.number, config: { unit: 's' }, values: [2 * 86400] },
      ],
    },
  ];
}

/** The live section: Grafana Live appends events to the first frame; the harness does it on request. */
function LiveSection() {
  const [events, setEvents] = useState<LiveEvent[]>([]);
  useEffect(() => {
    window.__pushTaskEvent = (e) => setEvents((prev) => [...prev, e]);
  }, []);
  const series = React.useMemo(() => liveSeries(events), [events]);
  const props = grafanaPanelProps({
    plugin: taskflowPlugin,
    id: 5,
    series,
    options: defaultTaskflowOptions,
    timeRange: { from: dateTime(LIVE_DAY - 3 * DAY), to: dateTime(LIVE_DAY + DAY), raw: { from: 'now-4d', to: 'now' } },
    width: 900,
    height: 520,
    fieldConfig: { defaults: { decimals: 0 }, overrides: [] },
  });
  return <TaskflowPanel {...props} />;
}

function Section({ id, title, children }: { id: string; title: string; children: React.ReactNode }) {
  return (
    <section id={id} style={{ marginBottom: 24 }}>
      <h3 style={{ margin: '0 0 8px', fontSize: 14 }}>{title}</h3>
      <div
        style={{
          border: `1px solid ${theme.colors.border.weak}`,
          background: theme.colors.background.primary,
          padding: 8,
          display: 'inline-block',
        }}
      >
        {children}
      </div>
    </section>
  );
}

function Harness() {
  const [backend, setBackend] = useState<DataFrame[] | null | undefined>(undefined);
  const [forecast, setForecast] = useState<{ completion: DataFrame[] | null; trend: DataFrame[] | null }>();
  useEffect(() => {
    loadBackendFixture()
      .catch(() => null)
      .then(setBackend);
    // The forecast panel renders only what the Go backend answered (tests/fixtures/forecast-*.json).
    Promise.all([
      loadBackendFixture('forecast-completion.json').catch(() => null),
      loadBackendFixture('forecast-trend.json').catch(() => null),
    ]).then(([completion, trend]) => setForecast({ completion, trend }));
  }, []);
  const taskflowSeries = React.useMemo(() => [makeCfdFrame(60), makeTasksFrame(TASKS)], []);
  const fcOpts: ForecastOptions = defaultForecastOptions;
  return (
    <ThemeContext.Provider value={theme}>
      <div
        style={{
          background: theme.colors.background.canvas,
          color: theme.colors.text.primary,
          fontFamily: theme.typography.fontFamily,
          fontSize: theme.typography.fontSize,
          padding: 16,
          minHeight: '100vh',
        }}
      >
        <Section id="taskflow" title={`Task flow (generated, ${TASKS} tasks)`}>
          <TaskflowPanel {...taskflowProps(1, taskflowSeries, 640)} />
        </Section>
        {forecast?.completion && (
          <Section id="forecast-completion" title="Forecast: burn-up (tests/fixtures/forecast-completion.json)">
            <ForecastPanel {...panelProps(2, forecast.completion, fcOpts, 900, 320)} />
          </Section>
        )}
        {forecast?.trend && (
          <Section id="forecast-trend" title="Forecast: KPI trend (tests/fixtures/forecast-trend.json)">
            <ForecastPanel {...panelProps(3, forecast.trend, fcOpts, 900, 280)} />
          </Section>
        )}
        <Section id="sql-editor" title="Query editor: raw SQL (Monaco)">
          <SqlEditorSection />
        </Section>
        <Section id="taskflow-arrow" title="Task flow: task list read through POST arrow (apache-arrow)">
          <TaskflowPanel {...withRequest(taskflowProps(6, [], 560), [arrowTasksQuery('kpiflow-e2e')])} />
        </Section>
        <Section id="taskflow-arrow-error" title="Task flow: POST arrow answering 400">
          <TaskflowPanel {...withRequest(taskflowProps(7, [], 200), [arrowTasksQuery('kpiflow-e2e-broken')])} />
        </Section>
        <Section id="taskflow-live" title="Task flow: live events replayed (Grafana Live appends to the events frame)">
          <LiveSection />
        </Section>
        {backend && (
          <Section id="taskflow-backend" title="Task flow (tests/fixtures/taskflow.json)">
            <TaskflowPanel {...taskflowProps(4, backend, 500)} />
          </Section>
        )}
        <div
          id="harness-ready"
          data-backend={backend ? 'yes' : 'no'}
          hidden={backend === undefined || forecast === undefined}
        />
      </div>
    </ThemeContext.Provider>
  );
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(<Harness />);
}
