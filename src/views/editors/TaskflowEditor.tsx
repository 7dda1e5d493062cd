import React, { useState } from 'react';
import { InlineField, Input } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { TASKFLOW_VIEWS, TaskflowQuery, TaskflowView } from '../../types/query';
import {
  LABEL_WIDTH,
  MultiValueField,
  parsePercentiles,
  SingleValueField,
  toOptions,
  TypedEditorProps,
  useOptions,
} from './common';

const viewLabels: Record<TaskflowView, string> = {
  cfd: 'Cumulative flow',
  wip: 'Work in progress',
  throughput: 'Throughput',
  cycle_time: 'Cycle time',
  aging: 'Aging work',
  tasks: 'Tasks',
};

export function TaskflowEditor({ datasource, query, onChange, onRunQuery }: TypedEditorProps<TaskflowQuery>) {
  const teams = useOptions(datasource.getTeams, [datasource]);
  const projects = useOptions(datasource.getProjects, [datasource]);
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
      <MultiValueField
        label="Teams"
        testId={selectors.query.taskflow.teams}
        value={query.teams ?? []}
        options={teams.options}
        loading={teams.loading}
        onChange={(v) => change({ teams: v })}
      />
      <MultiValueField
        label="Projects"
        testId={selectors.query.taskflow.projects}
        value={query.projects ?? []}
        options={projects.options}
        loading={projects.loading}
        onChange={(v) => change({ projects: v })}
      />
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
