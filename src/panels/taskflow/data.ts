import { useMemo } from 'react';
import { PanelData } from '@grafana/data';

import { applyTaskEvents } from './live';
import { TaskflowModel, toTaskflowModel } from './transform';
import { ArrowTaskList, useArrowTaskList } from './useArrowTaskList';

/**
 * The panel's data-loading layer: the frames Grafana hands the panel, plus the task list read through
 * POST arrow when the panel's task list query is hidden (useArrowTaskList), with the live events frame
 * (appended to by Grafana Live) replayed onto the views. The views only see the TaskflowModel.
 */
export function useTaskflowModel(
  data: PanelData,
  agingThresholdDays: number
): { model: TaskflowModel; arrow: ArrowTaskList } {
  const arrow = useArrowTaskList(data);
  const arrowFrames = arrow.state === 'done' ? arrow.frames : undefined;
  const model = useMemo(() => {
    const series = arrowFrames ? [...data.series, ...arrowFrames] : data.series;
    return toTaskflowModel(applyTaskEvents(series, data.timeRange?.to.valueOf() ?? 0), agingThresholdDays);
  }, [data.series, data.timeRange, arrowFrames, agingThresholdDays]);
  return { model, arrow };
}
