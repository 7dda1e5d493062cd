import React from 'react';
import { css } from '@emotion/css';
import { dateTimeFormat, GrafanaTheme2 } from '@grafana/data';
import { TimeZone } from '@grafana/schema';
import { useStyles2 } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { PercentileDate } from './transform';

interface Props {
  dates: PercentileDate[];
  timeZone?: TimeZone;
  format: string;
}

const getStyles = (theme: GrafanaTheme2) => ({
  table: css({
    alignSelf: 'flex-start',
    borderCollapse: 'collapse',
    fontSize: theme.typography.bodySmall.fontSize,
    'th, td': {
      padding: theme.spacing(0.5, 1),
      borderBottom: `1px solid ${theme.colors.border.weak}`,
      textAlign: 'left',
      whiteSpace: 'nowrap',
    },
    th: { color: theme.colors.text.secondary, fontWeight: theme.typography.fontWeightMedium },
  }),
});

/** "There is a P% chance to be done by this date." Dates are UTC days, as the backend counts them. */
export function PercentileTable({ dates, format }: Props) {
  const styles = useStyles2(getStyles);
  return (
    <table className={styles.table} data-testid={selectors.panels.forecast.table}>
      <thead>
        <tr>
          <th>Chance</th>
          <th>Done by</th>
        </tr>
      </thead>
      <tbody>
        {dates.map((d) => (
          <tr key={d.percentile} data-testid={selectors.panels.forecast.tableRow}>
            <td>P{d.percentile}</td>
            <td>{d.date === null ? 'not within the horizon' : dateTimeFormat(d.date, { format, timeZone: 'utc' })}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
