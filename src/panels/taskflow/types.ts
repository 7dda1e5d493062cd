export type TaskflowPanelView = 'auto' | 'cfd' | 'wip';

export interface TaskflowOptions {
  /** auto shows the cumulative flow and/or WIP depending on the frames the query returns. */
  view: TaskflowPanelView;
  /** Open tasks older than this many days are highlighted as aging. */
  agingThresholdDays: number;
}

export const defaultTaskflowOptions: TaskflowOptions = { view: 'auto', agingThresholdDays: 14 };
