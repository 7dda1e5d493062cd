import React, { useEffect, useState } from 'react';
import { Combobox, ComboboxOption, InlineField, Input, MultiCombobox } from '@grafana/ui';

import { DataSource } from '../../datasource/DataSource';
import { KpiflowQuery } from '../../types/query';

/** Props every per-type editor gets: the data source, its query (already narrowed) and onChange. */
export interface TypedEditorProps<Q extends KpiflowQuery> {
  datasource: DataSource;
  query: Q;
  onChange: (query: Q) => void;
  onRunQuery: () => void;
}

export const LABEL_WIDTH = 16;

/**
 * Loads a list of values once (or when a dependency changes). Errors and 404s give an empty list,
 * so editors keep working before the backend has its resource endpoints.
 */
export function useOptions(
  load: () => Promise<string[]>,
  deps: readonly unknown[]
): {
  options: Array<ComboboxOption<string>>;
  loading: boolean;
} {
  const [state, setState] = useState<{ options: Array<ComboboxOption<string>>; loading: boolean }>({
    options: [],
    loading: true,
  });
  useEffect(() => {
    let cancelled = false;
    load()
      .catch(() => [])
      .then((values) => {
        if (!cancelled) {
          setState({ options: values.map((v) => ({ label: v, value: v })), loading: false });
        }
      });
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return state;
}

/** Options for the values in `selected` that the server did not list (variables like $team, typed values). */
export function withSelected(
  options: Array<ComboboxOption<string>>,
  selected: readonly string[]
): Array<ComboboxOption<string>> {
  const known = new Set(options.map((o) => o.value));
  return [...options, ...selected.filter((s) => !known.has(s)).map((s) => ({ label: s, value: s }))];
}

export function toOptions<T extends string>(
  values: readonly T[],
  labels?: Partial<Record<T, string>>
): Array<ComboboxOption<T>> {
  return values.map((v) => ({ label: labels?.[v] ?? v, value: v }));
}

interface MultiValueFieldProps {
  label: string;
  tooltip?: string;
  testId: string;
  value: string[];
  options: Array<ComboboxOption<string>>;
  loading?: boolean;
  placeholder?: string;
  onChange: (v: string[]) => void;
}

/** A labelled multi-select that also accepts typed values (template variables, new names). */
export function MultiValueField(p: MultiValueFieldProps) {
  return (
    <InlineField label={p.label} labelWidth={LABEL_WIDTH} tooltip={p.tooltip} htmlFor={p.testId} grow>
      <div data-testid={p.testId}>
        <MultiCombobox<string>
          id={p.testId}
          options={withSelected(p.options, p.value)}
          value={p.value}
          loading={p.loading}
          createCustomValue
          placeholder={p.placeholder ?? 'Any'}
          onChange={(vs) => p.onChange(vs.map((v) => v.value))}
        />
      </div>
    </InlineField>
  );
}

interface SingleValueFieldProps<T extends string> {
  label: string;
  tooltip?: string;
  testId: string;
  value: T;
  options: Array<ComboboxOption<T>>;
  width?: number;
  onChange: (v: T) => void;
}

/** A labelled single select of fixed options. */
export function SingleValueField<T extends string>(p: SingleValueFieldProps<T>) {
  return (
    <InlineField label={p.label} labelWidth={LABEL_WIDTH} tooltip={p.tooltip} htmlFor={p.testId}>
      <div data-testid={p.testId}>
        <Combobox<T>
          id={p.testId}
          width={p.width ?? 24}
          options={p.options}
          value={p.value}
          onChange={(v) => p.onChange(v.value)}
        />
      </div>
    </InlineField>
  );
}

interface TextFieldProps {
  label: string;
  tooltip?: string;
  testId: string;
  value: string | undefined;
  placeholder?: string;
  width?: number;
  /** The text as typed; callers decide whether empty means unset. */
  onChange: (v: string) => void;
  onBlur: () => void;
}

/** A labelled free-text input that runs the query when it loses focus. */
export function TextField(p: TextFieldProps) {
  return (
    <InlineField label={p.label} labelWidth={LABEL_WIDTH} tooltip={p.tooltip}>
      <Input
        data-testid={p.testId}
        width={p.width ?? 24}
        value={p.value ?? ''}
        placeholder={p.placeholder}
        onChange={(e) => p.onChange(e.currentTarget.value)}
        onBlur={p.onBlur}
      />
    </InlineField>
  );
}

/** Parses "50, 85,95" into numbers in (0, 100); ignores the rest. */
export function parsePercentiles(text: string): number[] {
  return text
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map(Number)
    .filter((n) => Number.isFinite(n) && n > 0 && n < 100);
}
