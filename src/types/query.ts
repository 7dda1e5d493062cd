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

export type ForecastMode = 'completion' | 'how_many' | 'kpi_trend';
export const FORECAST_MODES: readonly ForecastMode[] = ['completion', 'how_many', 'kpi_trend'];

export interface ForecastQuery extends QueryBase {
  queryType: 'forecast';
  mode: ForecastMode;
  teams?: string[];
  projects?: string[];
  /** KPI metric, for kpi_trend. */
  metric?: string;
  historyDays?: number;
  trials?: number;
  percentiles?: number[];
  /** How far ahead, e.g. `30d`. */
  horizon?: string;
  /** For how_many: RFC 3339 date. */
  targetDate?: string;
  /** Items left, for completion; empty means the open items in scope. */
  backlog?: number;
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
