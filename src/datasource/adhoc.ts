import { AdHocVariableFilter } from '@grafana/data';

import { ADHOC_OPERATORS, AdHocFilter, AdHocOperator, BUILTIN_DIMENSIONS, Filter } from '../types/query';

/*
 * Dashboard ad hoc filters, turned into the shapes the Go backend parses. The browser only
 * forwards them (they exist nowhere else); the backend decides what they mean. Filters a query
 * model cannot express are left out rather than sent, since the backend rejects the whole query
 * for one it cannot parse, and a dashboard-wide filter should not break a panel it does not fit.
 */

/** Columns a kpi filter key may name besides `label:<key>` (pkg/query/kpi.go, filterKeyOK). */
const KPI_COLUMNS: readonly string[] = [...BUILTIN_DIMENSIONS, 'source'];

/** A label key as the backend accepts it (pkg/query/model.go, labelKeyRe). */
const LABEL_KEY_RE = /^[A-Za-z_][A-Za-z0-9_.\-/]{0,127}$/;

/** A column or table.column, the only keys a sql ad hoc filter may have (macros.go, adHocKeyRe). */
const SQL_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

const LABEL_PREFIX = 'label:';

/**
 * The kpi filter key for an ad hoc key: a dimension (or source) stays itself, `label:<k>` stays,
 * any other key is a label key and becomes `label:<k>`. Undefined when it cannot be a key.
 */
export function kpiFilterKey(key: string): string | undefined {
  if (KPI_COLUMNS.includes(key)) {
    return key;
  }
  const label = key.startsWith(LABEL_PREFIX) ? key.slice(LABEL_PREFIX.length) : key;
  return LABEL_KEY_RE.test(label) ? LABEL_PREFIX + label : undefined;
}

/** The operands of a one-of filter: Grafana's values, or its single value in older versions. */
function operands(f: AdHocVariableFilter): string[] {
  return f.values && f.values.length > 0 ? [...f.values] : [f.value];
}

/**
 * Ad hoc filters as kpi filters (Go query.Filter): `=`, `!=`, `=~`, `!~` keep their operator and
 * one value, `=|` / `!=|` become `in` / `not in` with a list. Comparisons (`<`, `>`, ...) have no
 * kpi form and are dropped, as are keys that are neither a dimension nor a label key.
 */
export function toKpiAdhocFilters(filters: readonly AdHocVariableFilter[]): Filter[] {
  const out: Filter[] = [];
  for (const f of filters) {
    const key = kpiFilterKey(f.key);
    if (key === undefined) {
      continue;
    }
    switch (f.operator) {
      case '=':
      case '!=':
      case '=~':
      case '!~':
        out.push({ key, operator: f.operator, value: f.value });
        break;
      case '=|':
        out.push({ key, operator: 'in', value: operands(f) });
        break;
      case '!=|':
        out.push({ key, operator: 'not in', value: operands(f) });
        break;
    }
  }
  return out;
}

function isAdHocOperator(op: string): op is AdHocOperator {
  return (ADHOC_OPERATORS as readonly string[]).includes(op);
}

/**
 * Ad hoc filters as sql filters (Go query.AdHocFilter): key, operator, value and, for `=|` /
 * `!=|`, values; nothing else (Grafana's origin, condition, labels ... are left behind, the
 * backend rejects unknown fields). Keys that are not a column or table.column (such as
 * `label:<k>`) and operators the backend does not know are dropped.
 */
export function toSqlAdhocFilters(filters: readonly AdHocVariableFilter[]): AdHocFilter[] {
  const out: AdHocFilter[] = [];
  for (const f of filters) {
    const operator = f.operator;
    if (!SQL_KEY_RE.test(f.key) || !isAdHocOperator(operator)) {
      continue;
    }
    const filter: AdHocFilter = { key: f.key, operator, value: f.value ?? '' };
    if ((operator === '=|' || operator === '!=|') && f.values && f.values.length > 0) {
      filter.values = [...f.values];
    }
    out.push(filter);
  }
  return out;
}
