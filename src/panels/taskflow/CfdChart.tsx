import React, { useMemo } from 'react';
import {
  DataFrame,
  Field,
  FieldColorModeId,
  FieldType,
  getDisplayProcessor,
  GrafanaTheme2,
  TimeRange,
} from '@grafana/data';
import {
  GraphDrawStyle,
  GraphFieldConfig,
  StackingMode,
  TimeZone,
  VisibilityMode,
  VizLegendOptions,
} from '@grafana/schema';
import { TimeSeries, useTheme2 } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { CfdFrame } from './transform';
import { TaskflowFieldConfig } from './types';

interface Props {
  frame: CfdFrame;
  width: number;
  height: number;
  timeRange: TimeRange;
  timeZone: TimeZone;
  legend: VizLegendOptions;
}

const CATEGORY_COLORS: Record<string, string> = { done: 'green', in_progress: 'blue', todo: 'orange' };
const LABELS: Record<string, string> = { done: 'Done', in_progress: 'In progress', todo: 'To do' };

export const CFD_FILL_OPACITY = 70;

/**
 * The field as the cumulative flow draws it: stacked (a CFD is a stack by definition), filled,
 * lines without points; state categories keep their colours and names unless the panel's field
 * config (defaults or overrides) set a fixed colour or a display name.
 */
export function cfdField(field: Field, theme: GrafanaTheme2, timeZone: TimeZone): Field {
  if (field.type !== FieldType.number) {
    return field;
  }
  const own: Partial<TaskflowFieldConfig> = field.config.custom ?? {};
  const custom: GraphFieldConfig = {
    ...own,
    drawStyle: GraphDrawStyle.Line,
    showPoints: VisibilityMode.Never,
    fillOpacity: own.fillOpacity ?? CFD_FILL_OPACITY,
    lineWidth: own.lineWidth ?? 1,
    stacking: { mode: StackingMode.Normal, group: 'cfd' },
    spanNulls: true,
  };
  const category = CATEGORY_COLORS[field.name];
  const colorSet =
    field.config.color?.mode === FieldColorModeId.Fixed || field.config.color?.mode === FieldColorModeId.Thresholds;
  const config = {
    ...field.config,
    custom,
    displayName: field.config.displayName ?? LABELS[field.name],
    color: category && !colorSet ? { mode: FieldColorModeId.Fixed, fixedColor: category } : field.config.color,
  };
  const out: Field = { ...field, config, state: undefined };
  // Grafana gives every field a display processor from its config; keep the formatting it set up
  // (units, decimals, mappings), made anew since the colour may have changed.
  out.display = getDisplayProcessor({ field: out, theme, timeZone });
  return out;
}

/**
 * Cumulative flow: stacked areas per state over time, done at the bottom, drawn by Grafana's
 * uPlot-based TimeSeries, so axes, ticks, legend and value formatting (units, decimals, overrides)
 * are those of any Grafana time series.
 */
export function CfdChart({ frame, width, height, timeRange, timeZone, legend }: Props) {
  const theme = useTheme2();
  const frames: DataFrame[] = useMemo(
    () => [{ ...frame, fields: frame.fields.map((f) => cfdField(f, theme, timeZone)) }],
    [frame, theme, timeZone]
  );
  // The last day's counts, for screen readers (and the browser test): the canvas has no text.
  const last = frame.length - 1;
  const summary = frame.fields
    .filter((f) => f.type === FieldType.number)
    .map((f) => `${f.name} ${f.values[last]}`)
    .join(', ');
  return (
    <div
      data-testid={selectors.panels.taskflow.cfd}
      aria-label={`Cumulative flow diagram, last day: ${summary}`}
      role="img"
    >
      <TimeSeries
        frames={frames}
        width={width}
        height={height}
        timeRange={timeRange}
        timeZone={timeZone}
        legend={legend}
      />
    </div>
  );
}
