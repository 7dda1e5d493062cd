import React from 'react';
import { css } from '@emotion/css';
import { AppRootProps, GrafanaTheme2, locationUtil } from '@grafana/data';
import { LinkButton, useStyles2 } from '@grafana/ui';

import { selectors } from '../selectors';

export const DATASOURCE_ID = 'kpiflow-clickhouse-datasource';

const getStyles = (theme: GrafanaTheme2) => ({
  root: css({
    maxWidth: 880,
    padding: theme.spacing(2),
    lineHeight: theme.typography.body.lineHeight,
  }),
  list: css({
    paddingLeft: theme.spacing(3),
    marginBottom: theme.spacing(2),
  }),
  actions: css({
    display: 'flex',
    gap: theme.spacing(1),
    marginTop: theme.spacing(2),
  }),
});

/** The app's root page: what kpiflow is and where to configure it. */
export function App(_props: AppRootProps) {
  const styles = useStyles2(getStyles);
  return (
    <div className={styles.root} data-testid={selectors.app.root}>
      <h2>kpiflow</h2>
      <p>
        kpiflow puts engineering KPIs, task flow and delivery forecasts into Grafana, stored in ClickHouse. Pipelines,
        trackers and agents push KPI samples, task events, deployments and incidents through the data source&apos;s
        ingest API; dashboards and alert rules query the same store.
      </p>
      <ul className={styles.list}>
        <li>
          <strong>kpiflow ClickHouse</strong> data source: KPI, DORA, task flow, forecast and raw SQL queries, live
          streams, ingest API.
        </li>
        <li>
          <strong>kpiflow task flow</strong> panel: cumulative flow, work in progress by state, aging work.
        </li>
        <li>
          <strong>kpiflow forecast</strong> panel: burn-up with a Monte Carlo percentile band, completion dates, KPI
          trend bands.
        </li>
      </ul>
      <p>
        Start by adding a kpiflow ClickHouse data source: enter the ClickHouse host and credentials, then use{' '}
        <em>Save &amp; test</em> to check the connection and the schema.
      </p>
      <div className={styles.actions}>
        <LinkButton
          data-testid={selectors.app.configLink}
          href={locationUtil.assureBaseUrl(`/plugins/${DATASOURCE_ID}`)}
          icon="database"
        >
          Configure the data source
        </LinkButton>
        <LinkButton href={locationUtil.assureBaseUrl('/connections/datasources')} variant="secondary" fill="outline">
          Data sources
        </LinkButton>
      </div>
    </div>
  );
}
