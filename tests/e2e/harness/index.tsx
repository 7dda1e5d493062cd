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

import type { DataSource } from '../../../src/datasource/DataSource';
import { ForecastPanel } from '../../../src/panels/forecast/ForecastPanel';
import { defaultForecastOptions, ForecastOptions } from '../../../src/panels/forecast/types';
import { makeCfdFrame, makeTasksFrame } from '../../../src/panels/taskflow/fixtures';
import { plugin as taskflowPlugin } from '../../../src/panels/taskflow/module';
import { TaskflowPanel } from '../../../src/panels/taskflow/TaskflowPanel';
import { defaultTaskflowOptions, TaskflowOptions } from '../../../src/panels/taskflow/types';
import { defaultQueries, KpiflowQuery } from '../../../src/types/query';
import { QueryEditor } from '../../../src/views/QueryEditor';
import { grafanaPanelProps, wipLimitOverride } from '../../../src/test/panelProps';

declare global {
  interface Window {
    /** The query editor's last onChange, for the browser test. */
    __lastQuery?: KpiflowQuery;
    __runs?: number;
  }
}

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
