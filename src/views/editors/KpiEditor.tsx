import React from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2, SelectableValue } from '@grafana/data';
import {
  Button,
  Combobox,
  ComboboxOption,
  IconButton,
  InlineField,
  Input,
  RadioButtonGroup,
  useStyles2,
} from '@grafana/ui';

import { selectors } from '../../components/selectors';
import {
  AGGREGATIONS,
  Aggregation,
  BUILTIN_DIMENSIONS,
  Filter,
  FILTER_OPERATORS,
  FilterOperator,
  KpiQuery,
  TableOrSeries,
} from '../../types/query';
import {
  LABEL_WIDTH,
  MultiValueField,
  SingleValueField,
  TextField,
  toOptions,
  TypedEditorProps,
  useOptions,
  withSelected,
} from './common';

const TEAM_LEVELS = [1, 2, 3, 4];

const formatOptions: Array<SelectableValue<TableOrSeries>> = [
  { label: 'Time series', value: 'timeseries' },
  { label: 'Table', value: 'table' },
];

const getStyles = (theme: GrafanaTheme2) => ({
  filterRow: css({
    display: 'flex',
    gap: theme.spacing(0.5),
    alignItems: 'center',
    marginBottom: theme.spacing(0.5),
  }),
});

const isList = (op: FilterOperator) => op === 'in' || op === 'not in';

/** Text shown for a filter value: lists as "a, b". */
const valueText = (f: Filter) => (Array.isArray(f.value) ? f.value.join(', ') : f.value);

/** Parses typed text into the value shape the operator needs. */
export function parseFilterValue(op: FilterOperator, text: string): string | string[] {
  if (!isList(op)) {
    return text;
  }
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function KpiEditor({ datasource, query, onChange, onRunQuery }: TypedEditorProps<KpiQuery>) {
  const styles = useStyles2(getStyles);
  const metrics = useOptions(datasource.getMetrics, [datasource]);
  const labelKeys = useOptions(datasource.getLabelKeys, [datasource]);

  const dimensionOptions: Array<ComboboxOption<string>> = [
    ...toOptions(BUILTIN_DIMENSIONS),
    ...TEAM_LEVELS.map((n) => ({ label: `team level ${n}`, value: `teamLevel:${n}` })),
    ...labelKeys.options.map((o) => ({ label: `label ${o.value}`, value: `label:${o.value}` })),
  ];
  const filterKeyOptions: Array<ComboboxOption<string>> = [
    ...toOptions([...BUILTIN_DIMENSIONS, 'source']),
    ...labelKeys.options.map((o) => ({ label: `label ${o.value}`, value: `label:${o.value}` })),
  ];

  const change = (patch: Partial<KpiQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };
  const setFilter = (i: number, f: Filter) => change({ filters: query.filters.map((g, j) => (j === i ? f : g)) });

  return (
    <>
      <MultiValueField
        label="Metrics"
        testId={selectors.query.kpi.metrics}
        value={query.metrics}
        options={metrics.options}
        loading={metrics.loading}
        placeholder="Choose metrics"
        onChange={(v) => change({ metrics: v })}
      />
      <SingleValueField<Aggregation>
        label="Aggregation"
        testId={selectors.query.kpi.aggregation}
        value={query.aggregation}
        options={toOptions(AGGREGATIONS)}
        onChange={(v) => change({ aggregation: v })}
      />
      <MultiValueField
        label="Group by"
        testId={selectors.query.kpi.groupBy}
        value={query.groupBy}
        options={dimensionOptions}
        placeholder="No grouping"
        onChange={(v) => change({ groupBy: v })}
      />
      <InlineField label="Filters" labelWidth={LABEL_WIDTH} grow>
        <div>
          {query.filters.map((f, i) => (
            <div className={styles.filterRow} key={i} data-testid={selectors.query.kpi.filterRow}>
              <Combobox<string>
                aria-label={`Filter ${i + 1} key`}
                width={24}
                createCustomValue
                options={withSelected(filterKeyOptions, [f.key])}
                value={f.key}
                onChange={(v) => setFilter(i, { ...f, key: v.value })}
              />
              <Combobox<FilterOperator>
                aria-label={`Filter ${i + 1} operator`}
                width={12}
                options={toOptions(FILTER_OPERATORS)}
                value={f.operator}
                onChange={(v) =>
                  setFilter(i, { ...f, operator: v.value, value: parseFilterValue(v.value, valueText(f)) })
                }
              />
              <Input
                aria-label={`Filter ${i + 1} value`}
                width={32}
                value={valueText(f)}
                placeholder={isList(f.operator) ? 'a, b, c' : 'value'}
                onChange={(e) =>
                  onChange({
                    ...query,
                    filters: query.filters.map((g, j) =>
                      j === i ? { ...f, value: parseFilterValue(f.operator, e.currentTarget.value) } : g
                    ),
                  })
                }
                onBlur={onRunQuery}
              />
              <IconButton
                name="trash-alt"
                tooltip="Remove filter"
                onClick={() => change({ filters: query.filters.filter((_, j) => j !== i) })}
              />
            </div>
          ))}
          <Button
            data-testid={selectors.query.kpi.filterAdd}
            variant="secondary"
            size="sm"
            icon="plus"
            onClick={() => change({ filters: [...query.filters, { key: 'team', operator: '=', value: '' }] }, false)}
          >
            Add filter
          </Button>
        </div>
      </InlineField>
      <TextField
        label="Interval"
        tooltip="Bucket width such as 1m or 1h; empty uses the panel's interval"
        testId={selectors.query.kpi.interval}
        width={16}
        value={query.interval}
        placeholder="auto"
        onChange={(v) => onChange({ ...query, interval: v || undefined })}
        onBlur={onRunQuery}
      />
      <InlineField label="Format" labelWidth={LABEL_WIDTH}>
        <RadioButtonGroup<TableOrSeries>
          data-testid={selectors.query.format}
          options={formatOptions}
          value={query.format}
          onChange={(v) => change({ format: v })}
        />
      </InlineField>
    </>
  );
}
