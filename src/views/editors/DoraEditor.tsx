import React from 'react';
import { SelectableValue } from '@grafana/data';
import { InlineField, Input, RadioButtonGroup } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { BUILTIN_DIMENSIONS, DORA_METRICS, DoraMetric, DoraQuery } from '../../types/query';
import { LABEL_WIDTH, MultiValueField, SingleValueField, toOptions, TypedEditorProps } from './common';

const metricLabels: Record<DoraMetric, string> = {
  deployment_frequency: 'Deployment frequency',
  lead_time: 'Lead time for changes',
  change_failure_rate: 'Change failure rate',
  time_to_restore: 'Time to restore service',
};

const formatOptions: Array<SelectableValue<DoraQuery['format']>> = [
  { label: 'Time series', value: 'timeseries' },
  { label: 'Table', value: 'table' },
  { label: 'Band', value: 'band', description: 'Value with its performance band (elite, high, medium, low)' },
];

export function DoraEditor({ query, onChange, onRunQuery }: TypedEditorProps<DoraQuery>) {
  const change = (patch: Partial<DoraQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  return (
    <>
      <SingleValueField<DoraMetric>
        label="Metric"
        testId={selectors.query.dora.metric}
        width={32}
        value={query.metric}
        options={toOptions(DORA_METRICS, metricLabels)}
        onChange={(v) => change({ metric: v })}
      />
      <InlineField
        label="Environment"
        labelWidth={LABEL_WIDTH}
        tooltip="Deployments and incidents of this environment count"
      >
        <Input
          data-testid={selectors.query.dora.environment}
          width={24}
          value={query.environment}
          placeholder="production"
          onChange={(e) => onChange({ ...query, environment: e.currentTarget.value })}
          onBlur={onRunQuery}
        />
      </InlineField>
      <MultiValueField
        label="Group by"
        testId={selectors.query.dora.groupBy}
        value={query.groupBy}
        options={toOptions(BUILTIN_DIMENSIONS.filter((d) => d !== 'environment'))}
        placeholder="No grouping"
        onChange={(v) => change({ groupBy: v })}
      />
      <InlineField label="Format" labelWidth={LABEL_WIDTH}>
        <RadioButtonGroup<DoraQuery['format']>
          data-testid={selectors.query.format}
          options={formatOptions}
          value={query.format}
          onChange={(v) => change({ format: v })}
        />
      </InlineField>
    </>
  );
}
