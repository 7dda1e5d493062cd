import React from 'react';

import { DataSource } from '../../datasource/DataSource';
import { selectors } from '../../components/selectors';
import { MultiValueField, useOptions } from './common';

/** The teams and projects a taskflow or forecast query is scoped to. */
export interface Scope {
  teams?: string[];
  projects?: string[];
}

interface Props {
  datasource: DataSource;
  value: Scope;
  onChange: (patch: Scope) => void;
}

/** Team and project pickers, fed by the data source's `teams` and `projects` resources. */
export function ScopeFields({ datasource, value, onChange }: Props) {
  const teams = useOptions(datasource.getTeams, [datasource]);
  const projects = useOptions(datasource.getProjects, [datasource]);
  return (
    <>
      <MultiValueField
        label="Teams"
        testId={selectors.query.taskflow.teams}
        value={value.teams ?? []}
        options={teams.options}
        loading={teams.loading}
        onChange={(v) => onChange({ teams: v })}
      />
      <MultiValueField
        label="Projects"
        testId={selectors.query.taskflow.projects}
        value={value.projects ?? []}
        options={projects.options}
        loading={projects.loading}
        onChange={(v) => onChange({ projects: v })}
      />
    </>
  );
}
