import React, { useState } from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Combobox, ComboboxOption, InlineField, Input } from '@grafana/ui';

import { selectors } from '../components/selectors';
import { DataSource } from '../datasource/DataSource';
import { KpiflowJsonData } from '../types/config';
import { KpiflowQuery } from '../types/query';
import { defaultVariableQuery, KpiflowVariableQuery, VariableKind } from '../types/variables';
import { LABEL_WIDTH, useOptions, withSelected } from './editors/common';

export type VariableQueryEditorProps = QueryEditorProps<
  DataSource,
  KpiflowQuery,
  KpiflowJsonData,
  KpiflowVariableQuery
>;

const kindOptions: Array<ComboboxOption<VariableKind>> = [
  { label: 'Metrics', value: 'metrics' },
  { label: 'Teams', value: 'teams' },
  { label: 'Projects', value: 'projects' },
  { label: 'Label keys', value: 'labelKeys' },
  { label: 'Label values', value: 'labelValues' },
];

/** Chooses what a dashboard variable lists: metrics, teams, projects, label keys or values. */
export function VariableQueryEditor({ datasource, query: raw, onChange }: VariableQueryEditorProps) {
  const query: KpiflowVariableQuery = { ...defaultVariableQuery, ...raw };
  const labelKeys = useOptions(datasource.getLabelKeys, [datasource]);
  const [regex, setRegex] = useState(query.regex ?? '');

  return (
    <>
      <InlineField label="Values of" labelWidth={LABEL_WIDTH}>
        <div data-testid={selectors.variable.kind}>
          <Combobox<VariableKind>
            aria-label="Values of"
            width={24}
            options={kindOptions}
            value={query.kind}
            onChange={(v) => onChange({ ...query, kind: v.value })}
          />
        </div>
      </InlineField>
      {query.kind === 'labelValues' && (
        <InlineField label="Label key" labelWidth={LABEL_WIDTH} invalid={!query.labelKey} error="Choose a label key">
          <div data-testid={selectors.variable.labelKey}>
            <Combobox<string>
              aria-label="Label key"
              width={24}
              createCustomValue
              loading={labelKeys.loading}
              options={withSelected(labelKeys.options, query.labelKey ? [query.labelKey] : [])}
              value={query.labelKey ?? null}
              onChange={(v) => onChange({ ...query, labelKey: v.value })}
            />
          </div>
        </InlineField>
      )}
      <InlineField label="Regex" labelWidth={LABEL_WIDTH} tooltip="Keep only values matching this regular expression">
        <Input
          data-testid={selectors.variable.regex}
          width={32}
          value={regex}
          placeholder="optional"
          onChange={(e) => setRegex(e.currentTarget.value)}
          onBlur={() => onChange({ ...query, regex: regex || undefined })}
        />
      </InlineField>
    </>
  );
}
