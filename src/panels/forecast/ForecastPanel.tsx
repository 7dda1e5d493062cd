import React from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2, PanelProps } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { useForecastModel } from './data';
import { ForecastChart } from './ForecastChart';
import { PercentileTable } from './PercentileTable';
import { ForecastOptions } from './types';

const TABLE_WIDTH = 230;
const CAPTION_HEIGHT = 20;

const getStyles = (theme: GrafanaTheme2) => ({
  root: css({
    display: 'flex',
    gap: theme.spacing(1),
    overflow: 'hidden',
  }),
  column: css({
    display: 'flex',
    flexDirection: 'column',
  }),
  caption: css({
    height: CAPTION_HEIGHT,
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
    whiteSpace: 'nowrap',
    overflow: 'hidden',
    textOverflow: 'ellipsis',
  }),
  empty: css({
    color: theme.colors.text.secondary,
    padding: theme.spacing(2),
  }),
});

/** kpiflow forecast: burn-up with the Monte Carlo band and its dates, or a KPI trend with its bands. */
export function ForecastPanel({ data, options, width, height, timeZone }: PanelProps<ForecastOptions>) {
  const styles = useStyles2(getStyles);
  const model = useForecastModel(data);
  if (model.kind === 'empty') {
    return (
      <div className={styles.empty} data-testid={selectors.panels.forecast.empty}>
        {model.reason}
      </div>
    );
  }
  const showTable = model.kind === 'completion' && options.showTable && model.dates.length > 0;
  const chartWidth = showTable ? Math.max(100, width - TABLE_WIDTH - 8) : width;
  const caption =
    model.kind === 'completion'
      ? [model.groupLabel, model.groups > 1 ? `first of ${model.groups} forecasts` : ''].filter(Boolean).join(' · ')
      : [model.name, model.caption, model.groups > 1 ? `first of ${model.groups} series` : '']
          .filter(Boolean)
          .join(' · ');
  return (
    <div className={styles.root} style={{ width, height }} data-testid={selectors.panels.forecast.root}>
      <div className={styles.column}>
        <div className={styles.caption} data-testid={selectors.panels.forecast.caption}>
          {caption}
        </div>
        {model.times.length > 0 && (
          <ForecastChart
            model={model}
            width={chartWidth}
            height={Math.max(50, height - CAPTION_HEIGHT)}
            timeZone={timeZone}
          />
        )}
      </div>
      {showTable && <PercentileTable dates={model.dates} timeZone={timeZone} format={options.dateFormat} />}
    </div>
  );
}
