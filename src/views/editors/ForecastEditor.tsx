import React, { FormEvent, useState } from 'react';
import { InlineField, Input } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import {
  DEFAULT_HISTORY_DAYS,
  DEFAULT_PERCENTILES,
  DEFAULT_TRIALS,
  FORECAST_MODES,
  ForecastMode,
  ForecastQuery,
} from '../../types/query';
import {
  LABEL_WIDTH,
  parsePercentiles,
  SingleValueField,
  toOptions,
  TypedEditorProps,
  useOptions,
  withSelected,
} from './common';
import { ScopeFields } from './ScopeFields';

const modeLabels: Record<ForecastMode, string> = {
  completion: 'When will it be done?',
  how_many: 'How many by a date?',
  kpi_trend: 'KPI trend',
};

function positiveInt(e: FormEvent<HTMLInputElement>): number | undefined {
  const n = Number(e.currentTarget.value);
  return e.currentTarget.value.trim() !== '' && Number.isInteger(n) && n > 0 ? n : undefined;
}

export function ForecastEditor({ datasource, query, onChange, onRunQuery }: TypedEditorProps<ForecastQuery>) {
  const metrics = useOptions(datasource.getMetrics, [datasource]);
  const [pctText, setPctText] = useState((query.percentiles ?? DEFAULT_PERCENTILES).join(', '));
  const change = (patch: Partial<ForecastQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  const trend = query.mode === 'kpi_trend';

  return (
    <>
      <SingleValueField<ForecastMode>
        label="Mode"
        testId={selectors.query.forecast.mode}
        width={32}
        value={query.mode}
        options={toOptions(FORECAST_MODES, modeLabels)}
        onChange={(v) => change({ mode: v })}
      />
      {trend ? (
        <SingleValueField<string>
          label="Metric"
          testId={selectors.query.forecast.metric}
          width={32}
          value={query.metric ?? ''}
          options={withSelected(metrics.options, query.metric ? [query.metric] : [])}
          onChange={(v) => change({ metric: v })}
        />
      ) : (
        <ScopeFields datasource={datasource} value={query} onChange={change} />
      )}
      <InlineField label="History (days)" labelWidth={LABEL_WIDTH} tooltip="Days of past throughput to sample">
        <Input
          data-testid={selectors.query.forecast.historyDays}
          type="number"
          width={16}
          value={query.historyDays ?? ''}
          placeholder={String(DEFAULT_HISTORY_DAYS)}
          onChange={(e) => onChange({ ...query, historyDays: positiveInt(e) })}
          onBlur={onRunQuery}
        />
      </InlineField>
      {!trend && (
        <InlineField label="Trials" labelWidth={LABEL_WIDTH} tooltip="Monte Carlo simulations">
          <Input
            data-testid={selectors.query.forecast.trials}
            type="number"
            width={16}
            value={query.trials ?? ''}
            placeholder={String(DEFAULT_TRIALS)}
            onChange={(e) => onChange({ ...query, trials: positiveInt(e) })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
      {!trend && (
        <InlineField label="Percentiles" labelWidth={LABEL_WIDTH} tooltip="Comma separated, e.g. 50, 70, 85, 95">
          <Input
            data-testid={selectors.query.forecast.percentiles}
            width={24}
            value={pctText}
            onChange={(e) => setPctText(e.currentTarget.value)}
            onBlur={() => change({ percentiles: parsePercentiles(pctText) })}
          />
        </InlineField>
      )}
      {query.mode === 'completion' && (
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
            onChange={(e) => onChange({ ...query, backlog: positiveInt(e) })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
      {query.mode === 'how_many' && (
        <InlineField label="Target date" labelWidth={LABEL_WIDTH} tooltip="RFC 3339 date, e.g. 2025-06-30">
          <Input
            data-testid={selectors.query.forecast.targetDate}
            width={24}
            value={query.targetDate ?? ''}
            placeholder="2025-06-30"
            onChange={(e) => onChange({ ...query, targetDate: e.currentTarget.value || undefined })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
      {query.mode !== 'how_many' && (
        <InlineField label="Horizon" labelWidth={LABEL_WIDTH} tooltip="How far ahead to project, e.g. 30d">
          <Input
            data-testid={selectors.query.forecast.horizon}
            width={16}
            value={query.horizon ?? ''}
            placeholder="auto"
            onChange={(e) => onChange({ ...query, horizon: e.currentTarget.value || undefined })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
    </>
  );
}
