import React from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2, PanelProps } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { useForecastModel } from './data';
import { ForecastChart } from './ForecastChart';
import { PercentileTable } from './PercentileTable';
import { ForecastOptions } from './types';

const TABLE_WIDTH = 190;

const getStyles = (theme: GrafanaTheme2) => ({
  root: css({
    display: 'flex',
    gap: theme.spacing(1),
    overflow: 'hidden',
  }),
  empty: css({
    color: theme.colors.text.secondary,
    padding: theme.spacing(2),
  }),
});

/** kpiflow forecast: burn-up with the Monte Carlo band and its dates, or a KPI trend band. */
export function ForecastPanel({ data, options, width, height, timeZone }: PanelProps<ForecastOptions>) {
  const styles = useStyles2(getStyles);
  const model = useForecastModel(data);
  if (model.kind === 'empty') {
    return (
      <div className={styles.empty} data-testid={selectors.panels.forecast.empty}>
        No forecast data. Use a kpiflow query of type Forecast.
      </div>
    );
  }
  const showTable = options.showTable && model.dates.length > 0;
  const chartWidth = showTable ? Math.max(100, width - TABLE_WIDTH - 8) : width;
  return (
    <div className={styles.root} style={{ width, height }} data-testid={selectors.panels.forecast.root}>
      {model.times.length > 0 && <ForecastChart model={model} width={chartWidth} height={height} timeZone={timeZone} />}
      {showTable && <PercentileTable dates={model.dates} timeZone={timeZone} format={options.dateFormat} />}
    </div>
  );
}
