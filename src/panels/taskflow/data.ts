import { useMemo } from 'react';
import { PanelData } from '@grafana/data';

import { TaskflowModel, toTaskflowModel } from './transform';

/**
 * The panel's data-loading layer: today the frames Grafana hands the panel. Live subscriptions and
 * Arrow IPC loading plug in here; the views only see the TaskflowModel.
 */
export function useTaskflowModel(data: PanelData, agingThresholdDays: number): TaskflowModel {
  return useMemo(() => toTaskflowModel(data.series, agingThresholdDays), [data.series, agingThresholdDays]);
}
