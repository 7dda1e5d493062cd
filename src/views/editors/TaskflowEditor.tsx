import React, { useState } from 'react';
import { InlineField, Input } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { TASKFLOW_VIEWS, TaskflowQuery, TaskflowView } from '../../types/query';
import { LABEL_WIDTH, parsePercentiles, SingleValueField, toOptions, TypedEditorProps } from './common';
import { ScopeFields } from './ScopeFields';

const viewLabels: Record<TaskflowView, string> = {
  cfd: 'Cumulative flow',
  wip: 'Work in progress',
  throughput: 'Throughput',
  cycle_time: 'Cycle time',
  aging: 'Aging work',
  tasks: 'Tasks',
};

export function TaskflowEditor({ datasource, query, onChange, onRunQuery }: TypedEditorProps<TaskflowQuery>) {
  const [pctText, setPctText] = useState((query.percentiles ?? []).join(', '));
  const change = (patch: Partial<TaskflowQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  return (
    <>
      <SingleValueField<TaskflowView>
        label="View"
        testId={selectors.query.taskflow.view}
        value={query.view}
        options={toOptions(TASKFLOW_VIEWS, viewLabels)}
        onChange={(v) => change({ view: v })}
      />
      <ScopeFields datasource={datasource} value={query} onChange={change} />
      {(query.view === 'cycle_time' || query.view === 'aging') && (
        <InlineField label="Percentiles" labelWidth={LABEL_WIDTH} tooltip="Comma separated, e.g. 50, 85, 95">
          <Input
            data-testid={selectors.query.taskflow.percentiles}
            width={24}
            value={pctText}
            onChange={(e) => setPctText(e.currentTarget.value)}
            onBlur={() => change({ percentiles: parsePercentiles(pctText) })}
          />
        </InlineField>
      )}
    </>
  );
}
