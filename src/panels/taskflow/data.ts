import { useMemo } from 'react';
import { PanelData } from '@grafana/data';

import { applyTaskEvents } from './live';
import { TaskflowModel, toTaskflowModel } from './transform';

/**
 * The panel's data-loading layer: the frames Grafana hands the panel, with the live events frame
 * (appended to by Grafana Live) replayed onto the views. The views only see the TaskflowModel.
 */
export function useTaskflowModel(data: PanelData, agingThresholdDays: number): TaskflowModel {
  return useMemo(
    () => toTaskflowModel(applyTaskEvents(data.series, data.timeRange?.to.valueOf() ?? 0), agingThresholdDays),
    [data.series, data.timeRange, agingThresholdDays]
  );
}
