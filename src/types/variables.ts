import { DataQuery } from '@grafana/schema';

/** What a dashboard variable of this data source lists; values come from the resource endpoints. */
export type VariableKind = 'metrics' | 'teams' | 'projects' | 'labelKeys' | 'labelValues';
export const VARIABLE_KINDS: readonly VariableKind[] = ['metrics', 'teams', 'projects', 'labelKeys', 'labelValues'];

export interface KpiflowVariableQuery extends DataQuery {
  kind: VariableKind;
  /** Required for labelValues. */
  labelKey?: string;
  /** Optional regular expression applied to the values, client side. */
  regex?: string;
}

export const defaultVariableQuery: Omit<KpiflowVariableQuery, 'refId'> = { kind: 'teams' };
