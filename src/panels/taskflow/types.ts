import { GraphFieldConfig, LegendDisplayMode, OptionsWithLegend } from '@grafana/schema';

export type TaskflowPanelView = 'auto' | 'cfd' | 'wip';

export interface TaskflowOptions extends OptionsWithLegend {
  /** auto shows the cumulative flow and/or WIP depending on the frames the query returns. */
  view: TaskflowPanelView;
  /** Open tasks older than this many days are highlighted as aging. */
  agingThresholdDays: number;
}

/** The panel's own field options (Grafana's time series ones that apply to a cumulative flow). */
export type TaskflowFieldConfig = Pick<GraphFieldConfig, 'fillOpacity' | 'lineWidth' | 'hideFrom'>;

export const defaultTaskflowOptions: TaskflowOptions = {
  view: 'auto',
  agingThresholdDays: 14,
  legend: { showLegend: true, displayMode: LegendDisplayMode.List, placement: 'bottom', calcs: [] },
};
