import {
  AdHocVariableFilter,
  CoreApp,
  DataSourceGetTagKeysOptions,
  DataSourceGetTagValuesOptions,
  DataSourceInstanceSettings,
  MetricFindValue,
  ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { KpiflowJsonData } from '../types/config';
import { liveBuffer } from '../types/live';
import { BUILTIN_DIMENSIONS, defaultQueries, Filter, KpiflowQuery, normalizeQuery } from '../types/query';
import { KpiflowVariableQuery } from '../types/variables';
import { toKpiAdhocFilters, toSqlAdhocFilters } from './adhoc';
import { markConditionalAll } from './conditionalAll';
import { KpiflowVariableSupport } from './variables';

/** Resource paths of the backend that list values (each answers a JSON array of strings). */
export type ListResource =
  'metrics' | 'teams' | 'projects' | 'services' | 'environments' | 'labels/keys' | 'labels/values';

/**
 * Front end of the kpiflow data source. Queries run in the Go backend (also for alert rules), so
 * nothing here is needed for a query to be correct: applyTemplateVariables only expands dashboard
 * variables, which the backend would otherwise receive verbatim, and forwards what only the
 * browser knows (the dashboard's ad hoc filters, whether a variable selects All).
 */
export class DataSource extends DataSourceWithBackend<KpiflowQuery, KpiflowJsonData> {
  constructor(instanceSettings: DataSourceInstanceSettings<KpiflowJsonData>) {
    super(instanceSettings);
    this.variables = new KpiflowVariableSupport(this);
    const standard = this.streamOptionsProvider;
    this.streamOptionsProvider = (request, frame) => liveBuffer(frame, standard(request, frame));
  }

  getDefaultQuery(_app: CoreApp): Partial<KpiflowQuery> {
    return { ...defaultQueries.kpi };
  }

  filterQuery(query: KpiflowQuery): boolean {
    if (query.hide) {
      return false;
    }
    if (query.queryType === 'sql') {
      return query.rawSql.trim() !== '';
    }
    if (query.queryType === 'kpi') {
      return query.metrics.length > 0;
    }
    return true;
  }

  /**
   * Expands dashboard variables and puts the dashboard's ad hoc filters (Grafana 10.4+ passes them
   * as `filters`) on kpi and sql queries as `adhocFilters`, in the backend's shapes, replacing any
   * the query has. Without `filters` (no ad hoc variable; an alert rule's preview) the query keeps
   * its own: Grafana stores them in an alert rule made from a panel (interpolateVariablesInQueries),
   * and the preview should run what the rule runs.
   */
  applyTemplateVariables(query: KpiflowQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): KpiflowQuery {
    const srv = getTemplateSrv();
    const text = (v: string) => srv.replace(v, scopedVars);
    // Multi-value variables in lists expand to several entries.
    const list = (vs?: string[]) => vs?.flatMap((v) => splitMulti(srv.replace(v, scopedVars, 'csv')));
    const q = normalizeQuery(query);
    switch (q.queryType) {
      case 'kpi': {
        const { adhocFilters, ...rest } = q;
        const adhoc = filters ? toKpiAdhocFilters(filters) : adhocFilters;
        return {
          ...rest,
          metrics: list(q.metrics) ?? [],
          groupBy: list(q.groupBy) ?? [],
          filters: q.filters.map((f) => interpolateFilter(f, text, list)),
          interval: q.interval ? text(q.interval) : q.interval,
          ...(adhoc && adhoc.length > 0 ? { adhocFilters: adhoc } : {}),
        };
      }
      case 'dora':
        return { ...q, environment: text(q.environment), groupBy: list(q.groupBy) ?? [] };
      case 'taskflow':
        return { ...q, teams: list(q.teams), projects: list(q.projects) };
      case 'forecast':
        return {
          ...q,
          teams: list(q.teams),
          projects: list(q.projects),
          groupBy: list(q.groupBy),
          metrics: list(q.metrics),
          filters: q.filters?.map((f) => interpolateFilter(f, text, list)),
          interval: q.interval ? text(q.interval) : q.interval,
          targetDate: q.targetDate ? text(q.targetDate) : q.targetDate,
          dueDate: q.dueDate ? text(q.dueDate) : q.dueDate,
        };
      case 'sql': {
        const { adhocFilters, ...rest } = q;
        const adhoc = filters ? toSqlAdhocFilters(filters) : adhocFilters;
        // An All selection must reach $__conditionalAll as $__all, not as the list of all values.
        const rawSql = srv.replace(markConditionalAll(q.rawSql, srv, scopedVars), scopedVars, sqlQuote);
        return { ...rest, rawSql, ...(adhoc && adhoc.length > 0 ? { adhocFilters: adhoc } : {}) };
      }
    }
  }

  /** Lists values from a resource endpoint; any failure (e.g. 404 before the backend has it) gives []. */
  async listResource(path: ListResource, params?: Record<string, string>): Promise<string[]> {
    try {
      const res: unknown = await this.getResource(path, params);
      return Array.isArray(res) ? res.filter((v): v is string => typeof v === 'string') : [];
    } catch {
      return [];
    }
  }

  getMetrics = () => this.listResource('metrics');
  getTeams = () => this.listResource('teams');
  getProjects = () => this.listResource('projects');
  getLabelKeys = () => this.listResource('labels/keys');
  getLabelValues = (key: string) => this.listResource('labels/values', { key });

  /**
   * Keys for ad hoc filters: the dimensions, then the label keys (plain; kpi queries read a key
   * that is not a dimension as `label:<key>`). A label key equal to a dimension is the dimension.
   */
  async getTagKeys(_options?: DataSourceGetTagKeysOptions<KpiflowQuery>): Promise<MetricFindValue[]> {
    const labels = await this.getLabelKeys();
    const keys = [...new Set<string>([...BUILTIN_DIMENSIONS, ...labels])];
    return keys.map((text) => ({ text, value: text }));
  }

  /** Values for an ad hoc filter key: a dimension's values, or a label's values (`label:<k>` or plain). */
  async getTagValues(options: DataSourceGetTagValuesOptions<KpiflowQuery>): Promise<MetricFindValue[]> {
    const values = await this.tagValues(options.key);
    return values.map((text) => ({ text, value: text }));
  }

  private tagValues(key: string): Promise<string[]> {
    switch (key) {
      case 'team':
        return this.getTeams();
      case 'project':
        return this.getProjects();
      case 'service':
        return this.listResource('services');
      case 'environment':
        return this.listResource('environments');
    }
    const label = key.startsWith('label:') ? key.slice('label:'.length) : key;
    return label ? this.getLabelValues(label) : Promise.resolve([]);
  }

  async metricFindQuery(
    query: KpiflowVariableQuery,
    options?: { scopedVars?: ScopedVars }
  ): Promise<MetricFindValue[]> {
    let values: string[];
    switch (query.kind) {
      case 'metrics':
        values = await this.getMetrics();
        break;
      case 'teams':
        values = await this.getTeams();
        break;
      case 'projects':
        values = await this.getProjects();
        break;
      case 'labelKeys':
        values = await this.getLabelKeys();
        break;
      case 'labelValues': {
        const key = getTemplateSrv().replace(query.labelKey ?? '', options?.scopedVars);
        values = key ? await this.getLabelValues(key) : [];
        break;
      }
      default:
        values = [];
    }
    return filterByRegex(values, query.regex).map((text) => ({ text, value: text }));
  }
}

function interpolateFilter(
  f: Filter,
  text: (v: string) => string,
  list: (vs?: string[]) => string[] | undefined
): Filter {
  const value = Array.isArray(f.value)
    ? (list(f.value) ?? [])
    : f.operator === 'in' || f.operator === 'not in'
      ? (list([f.value]) ?? [])
      : text(f.value);
  return { ...f, key: text(f.key), value };
}

/** Splits Grafana's csv format ("a,b") of a multi-value variable; a plain value stays whole. */
function splitMulti(v: string): string[] {
  return v === '' ? [] : v.split(',');
}

/**
 * Formats a variable's value(s) for raw SQL like Grafana's ClickHouse data source does, so its
 * queries carry over: a multi-value becomes quoted literals ('a','b'); a single value stays as is
 * (users write '$var' themselves).
 */
export function sqlQuote(value: string | string[]): string {
  if (!Array.isArray(value)) {
    return value;
  }
  return value.map((s) => `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(',');
}

export function filterByRegex(values: string[], regex?: string): string[] {
  if (!regex) {
    return values;
  }
  try {
    const re = new RegExp(regex);
    return values.filter((v) => re.test(v));
  } catch {
    return values;
  }
}
