import React, { FormEvent, useState } from 'react';
import { InlineField, InlineSwitch, Input } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import {
  AGGREGATIONS,
  Aggregation,
  DEFAULT_HISTORY_DAYS,
  DEFAULT_PERCENTILES,
  DEFAULT_TRIALS,
  FORECAST_MODELS,
  FORECAST_MODES,
  ForecastFormat,
  ForecastMode,
  ForecastModel,
  forecastForMode,
  ForecastQuery,
} from '../../types/query';
import {
  LABEL_WIDTH,
  MultiValueField,
  parsePercentiles,
  SingleValueField,
  TextField,
  toOptions,
  TypedEditorProps,
  useOptions,
  withSelected,
} from './common';
import { ScopeFields } from './ScopeFields';

const modeLabels: Record<ForecastMode, string> = {
  completion: 'When will it be done?',
  how_many: 'How many by a date?',
  task_eta: 'When will each task be done?',
  kpi_trend: 'KPI trend',
};

const modelLabels: Record<ForecastModel, string> = {
  auto: 'Auto (lowest AICc)',
  ses: 'Simple',
  holt: 'Holt (linear trend)',
  damped_holt: 'Holt (damped trend)',
  holt_winters: 'Holt-Winters (additive)',
};

const formatLabels: Record<ForecastFormat, string> = {
  timeseries: 'Time series',
  table: 'Table',
  numeric: 'Number per series (alerts)',
};

type Grouping = 'none' | 'team' | 'project';

function wholeNumber(e: FormEvent<HTMLInputElement>, min: number): number | undefined {
  const n = Number(e.currentTarget.value);
  return e.currentTarget.value.trim() !== '' && Number.isInteger(n) && n >= min ? n : undefined;
}

/**
 * The forecast query editor: the fields of the chosen mode only (the backend rejects fields a mode
 * does not read), so switching modes goes through forecastForMode.
 */
export function ForecastEditor({ datasource, query, onChange, onRunQuery }: TypedEditorProps<ForecastQuery>) {
  const metrics = useOptions(datasource.getMetrics, [datasource]);
  const [pctText, setPctText] = useState((query.percentiles ?? DEFAULT_PERCENTILES).join(', '));
  const change = (patch: Partial<ForecastQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  const mode = query.mode;
  const delivery = mode !== 'kpi_trend';
  const numeric = query.format === 'numeric';
  const formats: ForecastFormat[] =
    mode === 'kpi_trend'
      ? ['timeseries', 'numeric']
      : mode === 'task_eta'
        ? ['table']
        : ['timeseries', 'table', 'numeric'];
  const grouping: Grouping =
    query.groupBy?.[0] === 'team' || query.groupBy?.[0] === 'project' ? query.groupBy[0] : 'none';

  return (
    <>
      <SingleValueField<ForecastMode>
        label="Mode"
        testId={selectors.query.forecast.mode}
        width={32}
        value={mode}
        options={toOptions(FORECAST_MODES, modeLabels)}
        onChange={(v) => {
          onChange(forecastForMode(query, v));
          onRunQuery();
        }}
      />
      {delivery ? (
        <ScopeFields datasource={datasource} value={query} onChange={change} />
      ) : (
        <>
          <SingleValueField<string>
            label="Metric"
            testId={selectors.query.forecast.metric}
            width={32}
            value={query.metrics?.[0] ?? ''}
            options={withSelected(metrics.options, query.metrics ?? [])}
            onChange={(v) => change({ metrics: v ? [v] : [] })}
          />
          <SingleValueField<Aggregation>
            label="Aggregation"
            testId={selectors.query.forecast.aggregation}
            value={query.aggregation ?? 'avg'}
            options={toOptions(AGGREGATIONS)}
            onChange={(v) => change({ aggregation: v })}
          />
          <MultiValueField
            label="Group by"
            tooltip="One forecast per series: team, project, service, environment, label:<key>"
            testId={selectors.query.forecast.groupBy}
            value={query.groupBy ?? []}
            options={toOptions(['team', 'project', 'service', 'environment'])}
            placeholder="None"
            onChange={(v) => change({ groupBy: v.length > 0 ? v : undefined })}
          />
          <TextField
            label="Interval"
            tooltip="Bucket width such as 1h or 1d; the season follows it (a day of hourly buckets, a week of daily ones)"
            testId={selectors.query.forecast.interval}
            width={16}
            value={query.interval}
            placeholder="auto"
            onChange={(v) => onChange({ ...query, interval: v || undefined })}
            onBlur={onRunQuery}
          />
          <SingleValueField<ForecastModel>
            label="Model"
            testId={selectors.query.forecast.model}
            width={32}
            value={query.model ?? 'auto'}
            options={toOptions(FORECAST_MODELS, modelLabels)}
            onChange={(v) => change({ model: v === 'auto' ? undefined : v })}
          />
        </>
      )}
      {(mode === 'completion' || mode === 'how_many') && (
        <SingleValueField<Grouping>
          label="Forecast per"
          testId={selectors.query.forecast.groupBy}
          value={grouping}
          options={toOptions<Grouping>(['none', 'team', 'project'], { none: 'The whole scope' })}
          onChange={(v) =>
            change({ groupBy: v === 'none' ? undefined : [v], backlog: v === 'none' ? query.backlog : undefined })
          }
        />
      )}
      {delivery && (
        <InlineField
          label="History (days)"
          labelWidth={LABEL_WIDTH}
          tooltip="Days of past throughput (or cycle times) to learn from"
        >
          <Input
            data-testid={selectors.query.forecast.historyDays}
            type="number"
            width={16}
            value={query.historyDays ?? ''}
            placeholder={String(DEFAULT_HISTORY_DAYS)}
            onChange={(e) => onChange({ ...query, historyDays: wholeNumber(e, 1) })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
      {(mode === 'completion' || mode === 'how_many') && (
        <InlineField label="Trials" labelWidth={LABEL_WIDTH} tooltip="Monte Carlo simulations">
          <Input
            data-testid={selectors.query.forecast.trials}
            type="number"
            width={16}
            value={query.trials ?? ''}
            placeholder={String(DEFAULT_TRIALS)}
            onChange={(e) => onChange({ ...query, trials: wholeNumber(e, 1) })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
      {delivery && !numeric && (
        <InlineField label="Percentiles" labelWidth={LABEL_WIDTH} tooltip="Comma separated, e.g. 50, 70, 85, 95">
          <Input
            data-testid={selectors.query.forecast.percentiles}
            width={24}
            value={pctText}
            onChange={(e) => setPctText(e.currentTarget.value)}
            onBlur={() => {
              const ps = parsePercentiles(pctText);
              change({ percentiles: ps.length > 0 ? ps : undefined });
            }}
          />
        </InlineField>
      )}
      {mode === 'completion' && grouping === 'none' && (
        <InlineField
          label="Backlog"
          labelWidth={LABEL_WIDTH}
          tooltip="Items left; empty counts the open items in scope"
        >
          <Input
            data-testid={selectors.query.forecast.backlog}
            type="number"
            width={16}
            value={query.backlog ?? ''}
            placeholder="open items"
            onChange={(e) => onChange({ ...query, backlog: wholeNumber(e, 0) })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
      {mode === 'completion' && (
        <InlineField
          label="Scope growth"
          labelWidth={LABEL_WIDTH}
          tooltip="Also sample the items added per day from the history"
        >
          <InlineSwitch
            data-testid={selectors.query.forecast.scopeGrowth}
            value={query.scopeGrowth ?? false}
            onChange={(e) => change({ scopeGrowth: e.currentTarget.checked || undefined })}
          />
        </InlineField>
      )}
      {mode === 'how_many' && (
        <TextField
          label="Target date"
          tooltip="Count the items done by this date, e.g. 2026-12-31"
          testId={selectors.query.forecast.targetDate}
          value={query.targetDate}
          placeholder="2026-12-31"
          onChange={(v) => onChange({ ...query, targetDate: v })}
          onBlur={onRunQuery}
        />
      )}
      {(mode === 'completion' || mode === 'kpi_trend') && (
        <InlineField
          label="Horizon"
          labelWidth={LABEL_WIDTH}
          tooltip={
            mode === 'kpi_trend'
              ? 'Buckets to forecast ahead (default 24)'
              : 'Days a trial may run before it counts as not done (default 3650)'
          }
        >
          <Input
            data-testid={selectors.query.forecast.horizon}
            type="number"
            width={16}
            value={query.horizon ?? ''}
            placeholder={mode === 'kpi_trend' ? '24' : '3650'}
            onChange={(e) => onChange({ ...query, horizon: wholeNumber(e, 1) })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
      {formats.length > 1 && (
        <SingleValueField<ForecastFormat>
          label="Format"
          tooltip="Number per series: one value per team or series, for alert rules"
          testId={selectors.query.forecast.format}
          width={32}
          value={query.format ?? 'timeseries'}
          options={toOptions(formats, formatLabels)}
          onChange={(v) =>
            change({
              format: v === 'timeseries' ? undefined : v,
              ...(v === 'numeric' ? {} : { dueDate: undefined, alertPercentile: undefined }),
            })
          }
        />
      )}
      {numeric && delivery && (
        <InlineField
          label="Alert percentile"
          labelWidth={LABEL_WIDTH}
          tooltip="The percentile the number is taken at (default 85)"
        >
          <Input
            data-testid={selectors.query.forecast.alertPercentile}
            type="number"
            width={16}
            value={query.alertPercentile ?? ''}
            placeholder="85"
            onChange={(e) => {
              const n = Number(e.currentTarget.value);
              onChange({ ...query, alertPercentile: n > 0 && n < 100 ? n : undefined });
            }}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
      {numeric && mode === 'completion' && (
        <TextField
          label="Due date"
          tooltip="With a due date the number is the days the percentile date is past it (negative: early)"
          testId={selectors.query.forecast.dueDate}
          value={query.dueDate}
          placeholder="2026-12-31"
          onChange={(v) => onChange({ ...query, dueDate: v || undefined })}
          onBlur={onRunQuery}
        />
      )}
    </>
  );
}
