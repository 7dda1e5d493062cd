import { DataQuery } from '@grafana/schema';

/**
 * The kpiflow query model: a union keyed by queryType, mirroring the Go side (pkg/query).
 * Everything is expanded in the backend, so alert rules run these queries without a browser.
 */

export type QueryType = 'kpi' | 'dora' | 'taskflow' | 'forecast' | 'sql';
export const QUERY_TYPES: readonly QueryType[] = ['kpi', 'dora', 'taskflow', 'forecast', 'sql'];

interface QueryBase extends DataQuery {
  queryType: QueryType;
  /** Stream updates over Grafana Live (the frame's Meta.Channel). */
  live?: boolean;
}

export type Aggregation = 'avg' | 'sum' | 'min' | 'max' | 'count' | 'p50' | 'p90' | 'p95' | 'p99' | 'rate' | 'last';
export const AGGREGATIONS: readonly Aggregation[] = [
  'avg',
  'sum',
  'min',
  'max',
  'count',
  'p50',
  'p90',
  'p95',
  'p99',
  'rate',
  'last',
];

/** A dimension to group by. */
export type BuiltinDimension = 'team' | 'project' | 'service' | 'environment';
export type GroupBy = BuiltinDimension | `label:${string}` | `teamLevel:${number}`;
export const BUILTIN_DIMENSIONS: readonly BuiltinDimension[] = ['team', 'project', 'service', 'environment'];

export type FilterOperator = '=' | '!=' | '=~' | '!~' | 'in' | 'not in';
export const FILTER_OPERATORS: readonly FilterOperator[] = ['=', '!=', '=~', '!~', 'in', 'not in'];

export interface Filter {
  /** team, project, service, environment, source or `label:<key>`. */
  key: string;
  operator: FilterOperator;
  /** A list for `in` / `not in`, a single string otherwise. */
  value: string | string[];
}

/**
 * Grafana's ad hoc filter operators as the sql backend accepts them (pkg/query/macros.go,
 * adHocOperators): `=|` and `!=|` are "one of" / "none of", their operands in `values`.
 */
export type AdHocOperator = '=' | '!=' | '<' | '>' | '<=' | '>=' | '=~' | '!~' | '=|' | '!=|';
export const ADHOC_OPERATORS: readonly AdHocOperator[] = ['=', '!=', '<', '>', '<=', '>=', '=~', '!~', '=|', '!=|'];

/**
 * A dashboard ad hoc filter on a sql query (Go query.AdHocFilter): applied where the SQL says
 * `$__adHocFilters('table')`. Exactly these four fields; the backend rejects any other.
 */
export interface AdHocFilter {
  /** A column or table.column. */
  key: string;
  operator: AdHocOperator;
  value: string;
  /** The operands of `=|` and `!=|`. */
  values?: string[];
}

export type TableOrSeries = 'timeseries' | 'table';

export interface KpiQuery extends QueryBase {
  queryType: 'kpi';
  metrics: string[];
  aggregation: Aggregation;
  groupBy: string[];
  filters: Filter[];
  /**
   * The dashboard's ad hoc filters, applied like filters. Set by applyTemplateVariables on the
   * way to the backend; not edited in the panel (an alert rule made from a panel stores them).
   */
  adhocFilters?: Filter[];
  /** Bucket width such as `1m`, `1h`; empty means Grafana's interval. */
  interval?: string;
  format: TableOrSeries;
}

export type DoraMetric = 'deployment_frequency' | 'lead_time' | 'change_failure_rate' | 'time_to_restore';
export const DORA_METRICS: readonly DoraMetric[] = [
  'deployment_frequency',
  'lead_time',
  'change_failure_rate',
  'time_to_restore',
];

export interface DoraQuery extends QueryBase {
  queryType: 'dora';
  metric: DoraMetric;
  groupBy: string[];
  environment: string;
  format: TableOrSeries | 'band';
}

export type TaskflowView = 'cfd' | 'wip' | 'throughput' | 'cycle_time' | 'aging' | 'tasks';
export const TASKFLOW_VIEWS: readonly TaskflowView[] = ['cfd', 'wip', 'throughput', 'cycle_time', 'aging', 'tasks'];

export interface TaskflowQuery extends QueryBase {
  queryType: 'taskflow';
  view: TaskflowView;
  teams?: string[];
  projects?: string[];
  percentiles?: number[];
}

export type ForecastMode = 'completion' | 'how_many' | 'task_eta' | 'kpi_trend';
export const FORECAST_MODES: readonly ForecastMode[] = ['completion', 'how_many', 'task_eta', 'kpi_trend'];

export type ForecastModel = 'auto' | 'ses' | 'holt' | 'damped_holt' | 'holt_winters';
export const FORECAST_MODELS: readonly ForecastModel[] = ['auto', 'ses', 'holt', 'damped_holt', 'holt_winters'];

/** timeseries (default): frames to draw; table; numeric: one number per series, for alert rules. */
export type ForecastFormat = 'timeseries' | 'table' | 'numeric';

/**
 * queryType forecast, as the backend reads it (pkg/query/forecast.go). Which fields apply depends on
 * the mode (FORECAST_FIELDS); the backend rejects a field its mode does not read, naming it.
 */
export interface ForecastQuery extends QueryBase {
  queryType: 'forecast';
  mode: ForecastMode;
  /** Scope of completion, how_many and task_eta. */
  teams?: string[];
  projects?: string[];
  /** completion, how_many: `team` or `project` (one forecast each); kpi_trend: the kpi groupings. */
  groupBy?: string[];
  historyDays?: number;
  trials?: number;
  percentiles?: number[];
  /** completion: items left; absent counts the open items in scope. */
  backlog?: number;
  /** completion: sample new items per day from the history too. */
  scopeGrowth?: boolean;
  /** how_many: the date (YYYY-MM-DD) to count done items by. */
  targetDate?: string;
  /** completion, numeric format: answer days past this date instead of days to the date. */
  dueDate?: string;
  /** completion, how_many, numeric format: the percentile of the number (default 85). */
  alertPercentile?: number;
  /** completion: days a trial may run (default 3650); kpi_trend: buckets ahead (default 24). */
  horizon?: number;
  /** kpi_trend: the smoothing model, auto chooses by AICc. */
  model?: ForecastModel;
  format?: ForecastFormat;
  /** kpi_trend: the kpi query's fields (one metric). */
  metrics?: string[];
  aggregation?: Aggregation;
  filters?: Filter[];
  interval?: string;
}

type ForecastField = Exclude<keyof ForecastQuery, keyof QueryBase | 'queryType' | 'mode'>;

/** The fields each forecast mode reads; switching modes drops the others. */
export const FORECAST_FIELDS: Record<ForecastMode, readonly ForecastField[]> = {
  completion: [
    'teams',
    'projects',
    'groupBy',
    'historyDays',
    'trials',
    'percentiles',
    'backlog',
    'scopeGrowth',
    'dueDate',
    'alertPercentile',
    'horizon',
    'format',
  ],
  how_many: [
    'teams',
    'projects',
    'groupBy',
    'historyDays',
    'trials',
    'percentiles',
    'targetDate',
    'alertPercentile',
    'format',
  ],
  task_eta: ['teams', 'projects', 'historyDays', 'percentiles', 'format'],
  kpi_trend: ['metrics', 'aggregation', 'groupBy', 'filters', 'interval', 'horizon', 'model', 'format'],
};

/** The query in another mode: the fields that mode reads are kept, the others dropped, required ones filled. */
export function forecastForMode(q: ForecastQuery, mode: ForecastMode): ForecastQuery {
  const { refId, hide, datasource, key } = q;
  const out: ForecastQuery = { refId, queryType: 'forecast', mode };
  if (hide !== undefined) {
    out.hide = hide;
  }
  if (datasource !== undefined) {
    out.datasource = datasource;
  }
  if (key !== undefined) {
    out.key = key;
  }
  const keep = FORECAST_FIELDS[mode];
  const src = q as unknown as Record<string, unknown>;
  const dst = out as unknown as Record<string, unknown>;
  for (const f of keep) {
    if (src[f] !== undefined) {
      dst[f] = src[f];
    }
  }
  // A grouping of one family means nothing to the other.
  if (out.groupBy && (mode === 'kpi_trend') !== (q.mode === 'kpi_trend')) {
    delete out.groupBy;
  }
  if (q.mode === 'kpi_trend' || mode === 'kpi_trend') {
    delete out.horizon; // days for completion, buckets for kpi_trend
  }
  if (out.format === 'numeric' && mode === 'task_eta') {
    delete out.format;
  }
  if (out.format === 'table' && mode === 'kpi_trend') {
    delete out.format;
  }
  if (mode === 'kpi_trend') {
    out.metrics = out.metrics ?? [];
    out.aggregation = out.aggregation ?? 'avg';
  }
  if (mode === 'how_many' && !out.targetDate) {
    out.targetDate = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  }
  return out;
}

export interface SqlQuery extends QueryBase {
  queryType: 'sql';
  rawSql: string;
  format: TableOrSeries;
  /**
   * The dashboard's ad hoc filters, for `$__adHocFilters('table')`. Set by applyTemplateVariables
   * on the way to the backend; not edited in the panel (an alert rule made from a panel stores them).
   */
  adhocFilters?: AdHocFilter[];
}

export type KpiflowQuery = KpiQuery | DoraQuery | TaskflowQuery | ForecastQuery | SqlQuery;

/** A query body without refId, as the defaults are stored. */
export type QueryDefaults<Q extends KpiflowQuery> = Omit<Q, 'refId'>;

export const DEFAULT_HISTORY_DAYS = 90;
export const DEFAULT_TRIALS = 10_000;
export const DEFAULT_PERCENTILES: readonly number[] = [50, 70, 85, 95];

/**
 * The default query for each queryType. src/types/default-queries.json holds the same values
 * (a jest test keeps them equal) so the Go tests can validate them.
 */
export const defaultQueries: {
  kpi: QueryDefaults<KpiQuery>;
  dora: QueryDefaults<DoraQuery>;
  taskflow: QueryDefaults<TaskflowQuery>;
  forecast: QueryDefaults<ForecastQuery>;
  sql: QueryDefaults<SqlQuery>;
} = {
  kpi: {
    queryType: 'kpi',
    metrics: [],
    aggregation: 'avg',
    groupBy: [],
    filters: [],
    format: 'timeseries',
  },
  dora: {
    queryType: 'dora',
    metric: 'deployment_frequency',
    groupBy: [],
    environment: 'production',
    format: 'timeseries',
  },
  taskflow: {
    queryType: 'taskflow',
    view: 'cfd',
    teams: [],
    projects: [],
    percentiles: [50, 85, 95],
  },
  forecast: {
    queryType: 'forecast',
    mode: 'completion',
    teams: [],
    projects: [],
    historyDays: DEFAULT_HISTORY_DAYS,
    trials: DEFAULT_TRIALS,
    percentiles: [...DEFAULT_PERCENTILES],
  },
  sql: {
    queryType: 'sql',
    rawSql:
      'SELECT $__timeInterval(ts) AS time, metric, avg(value) AS avg_value\nFROM kpi_samples\nWHERE $__timeFilter(ts)\nGROUP BY time, metric\nORDER BY time',
    format: 'timeseries',
  },
};

/** A fresh default query of one type, keeping refId (and hide/datasource) of the query it replaces. */
export function defaultQuery(type: QueryType, base: Pick<DataQuery, 'refId'> & Partial<DataQuery>): KpiflowQuery {
  const common = { refId: base.refId, hide: base.hide, datasource: base.datasource };
  switch (type) {
    case 'kpi':
      return { ...common, ...structuredCloneJson(defaultQueries.kpi) };
    case 'dora':
      return { ...common, ...structuredCloneJson(defaultQueries.dora) };
    case 'taskflow':
      return { ...common, ...structuredCloneJson(defaultQueries.taskflow) };
    case 'forecast':
      return { ...common, ...structuredCloneJson(defaultQueries.forecast) };
    case 'sql':
      return { ...common, ...structuredCloneJson(defaultQueries.sql) };
  }
}

function structuredCloneJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v));
}

export function isQueryType(v: unknown): v is QueryType {
  return typeof v === 'string' && (QUERY_TYPES as readonly string[]).includes(v);
}

/**
 * Turns whatever Grafana hands the editor (a new query has only refId; an old one may lack
 * fields) into a complete KpiflowQuery. Unknown queryTypes become the kpi default.
 */
export function normalizeQuery(q: DataQuery): KpiflowQuery {
  const type: QueryType = isQueryType(q.queryType) ? q.queryType : 'kpi';
  const defaults = defaultQuery(type, q);
  if (q.queryType !== type) {
    return defaults;
  }
  // Fill missing fields from the defaults; keep what the query already has.
  return { ...defaults, ...q, queryType: type } as KpiflowQuery;
}
