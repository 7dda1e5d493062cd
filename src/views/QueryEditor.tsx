import React from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2, QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineSwitch, RadioButtonGroup, useStyles2 } from '@grafana/ui';

import { capabilities, Capabilities } from '../capabilities';
import { selectors } from '../components/selectors';
import { DataSource } from '../datasource/DataSource';
import { KpiflowJsonData } from '../types/config';
import { defaultQuery, KpiflowQuery, normalizeQuery, QueryType } from '../types/query';
import { LABEL_WIDTH } from './editors/common';
import { DoraEditor } from './editors/DoraEditor';
import { ForecastEditor } from './editors/ForecastEditor';
import { KpiEditor } from './editors/KpiEditor';
import { SqlEditor } from './editors/SqlEditor';
import { TaskflowEditor } from './editors/TaskflowEditor';

export type Props = QueryEditorProps<DataSource, KpiflowQuery, KpiflowJsonData>;

const allTypeOptions: Array<SelectableValue<QueryType>> = [
  { label: 'KPI', value: 'kpi', description: 'KPI samples as time series or table' },
  { label: 'DORA', value: 'dora', description: 'The four DORA metrics' },
  { label: 'Task flow', value: 'taskflow', description: 'Cumulative flow, WIP, throughput, cycle time, aging' },
  { label: 'Forecast', value: 'forecast', description: 'Monte Carlo completion dates, KPI trends' },
  { label: 'SQL', value: 'sql', description: 'Raw, read-only ClickHouse SQL with macros' },
];

/**
 * The query types to offer: Forecast only once the backend answers it. A saved query of a type not
 * offered keeps its option, so it still shows and can be switched away from.
 */
export function typeOptionsFor(
  caps: Readonly<Capabilities>,
  current: QueryType
): Array<SelectableValue<QueryType>> {
  return allTypeOptions.filter((o) => o.value !== 'forecast' || caps.forecastQueries || current === 'forecast');
}

/** The Live switch shows once live queries work, or while a saved query has live on (to turn it off). */
export function showLiveSwitch(caps: Readonly<Capabilities>, live: boolean | undefined): boolean {
  return caps.liveQueries || Boolean(live);
}

const getStyles = (theme: GrafanaTheme2) => ({
  header: css({
    display: 'flex',
    flexWrap: 'wrap',
    gap: theme.spacing(1),
    alignItems: 'center',
    marginBottom: theme.spacing(1),
  }),
  body: css({
    display: 'flex',
    flexDirection: 'column',
  }),
});

/** Picks the editor for the query's queryType; switching type starts from that type's default. */
export function QueryEditor({ datasource, query: raw, onChange, onRunQuery }: Props) {
  const styles = useStyles2(getStyles);
  const query = normalizeQuery(raw);

  const onType = (type: QueryType) => {
    if (type !== query.queryType) {
      onChange({ ...defaultQuery(type, query), live: query.live });
    }
  };

  return (
    <div data-testid={selectors.query.editor}>
      <div className={styles.header}>
        <InlineField label="Query type" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<QueryType>
            data-testid={selectors.query.queryType}
            options={typeOptionsFor(capabilities, query.queryType)}
            value={query.queryType}
            onChange={onType}
          />
        </InlineField>
        {showLiveSwitch(capabilities, query.live) && (
          <InlineSwitch
            data-testid={selectors.query.live}
            label="Live"
            showLabel
            transparent
            value={query.live ?? false}
            onChange={(e) => {
              onChange({ ...query, live: e.currentTarget.checked || undefined });
              onRunQuery();
            }}
          />
        )}
      </div>
      <div className={styles.body}>{renderEditor(datasource, query, onChange, onRunQuery)}</div>
    </div>
  );
}

function renderEditor(
  datasource: DataSource,
  query: KpiflowQuery,
  onChange: (q: KpiflowQuery) => void,
  onRunQuery: () => void
) {
  const common = { datasource, onChange, onRunQuery };
  switch (query.queryType) {
    case 'kpi':
      return <KpiEditor {...common} query={query} />;
    case 'dora':
      return <DoraEditor {...common} query={query} />;
    case 'taskflow':
      return <TaskflowEditor {...common} query={query} />;
    case 'forecast':
      return <ForecastEditor {...common} query={query} />;
    case 'sql':
      return <SqlEditor {...common} query={query} />;
  }
}
