import { useMemo } from 'react';
import { PanelData } from '@grafana/data';

import { ForecastModel, toForecastModel } from './transform';

/**
 * The panel's data-loading layer: today the frames Grafana hands the panel. Live subscriptions and
 * Arrow IPC loading plug in here; the chart and table only see the ForecastModel.
 */
export function useForecastModel(data: PanelData): ForecastModel {
  return useMemo(() => toForecastModel(data.series), [data.series]);
}
