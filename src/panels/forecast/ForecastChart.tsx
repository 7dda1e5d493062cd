import React, { useMemo } from 'react';
import uPlot, { AlignedData } from 'uplot';
import { formattedValueToString, getValueFormat, GrafanaTheme2 } from '@grafana/data';
import {
  AxisPlacement,
  GraphDrawStyle,
  ScaleDirection,
  ScaleOrientation,
  TimeZone,
  VisibilityMode,
} from '@grafana/schema';
import { UPlotChart, UPlotConfigBuilder, useTheme2 } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { CompletionModel, TrendModel, ValueFormat } from './transform';

interface Props {
  model: CompletionModel | TrendModel;
  width: number;
  height: number;
  timeZone?: TimeZone;
}

interface Line {
  name: string;
  values: Array<number | null>;
  color: string;
  width: number;
  dash?: number[];
}

interface Plot {
  data: AlignedData;
  builder: UPlotConfigBuilder;
  names: string[];
  bands: number;
}

/**
 * The burn-up (actual done count, scope, one line per percentile and the band between the lowest
 * and highest percentile) or the KPI trend (actual values, yhat and its 80 % and 95 % bands), drawn
 * with Grafana's uPlot wrapper (UPlotChart and UPlotConfigBuilder from @grafana/ui), so axes, time
 * zones, units and decimals behave as in Grafana's own time series panel.
 */
export function ForecastChart({ model, width, height, timeZone }: Props) {
  const theme = useTheme2();
  const plot = useMemo(() => buildPlot(model, theme, timeZone), [model, theme, timeZone]);
  return (
    <div
      data-testid={selectors.panels.forecast.chart}
      data-kind={model.kind}
      data-series={plot.names.join(',')}
      data-bands={plot.bands}
      data-points={model.times.length}
      role="img"
      aria-label={model.kind === 'completion' ? 'Burn-up with forecast band' : 'KPI trend with prediction bands'}
    >
      <UPlotChart config={plot.builder} data={plot.data} width={width} height={height} />
    </div>
  );
}

function formatter(format: ValueFormat) {
  const fmt = getValueFormat(format.unit ?? 'none');
  return (v: number, decimals?: number | null) => formattedValueToString(fmt(v, format.decimals ?? decimals));
}

function buildPlot(model: CompletionModel | TrendModel, theme: GrafanaTheme2, timeZone?: TimeZone): Plot {
  const color = (name: string) => theme.visualization.getColorByName(name);
  const lines: Line[] = [];
  const bands: Array<{ upper: number; lower: number; fill: string }> = [];
  if (model.kind === 'completion') {
    lines.push({ name: 'done', values: model.done, color: color('green'), width: 2.5 });
    lines.push({ name: 'scope', values: model.scope, color: theme.colors.text.secondary, width: 1, dash: [2, 3] });
    model.projections.forEach((p) => {
      lines.push({ name: `p${p.percentile}`, values: p.values, color: color('blue'), width: 1, dash: [5, 4] });
    });
    if (model.projections.length > 1) {
      // The optimistic (lowest) percentile is the band's top, the pessimistic its bottom.
      bands.push({ upper: 3, lower: 2 + model.projections.length, fill: withAlpha(color('blue'), 0.18) });
    }
  } else {
    lines.push({ name: model.name, values: model.value, color: color('green'), width: 2 });
    lines.push({ name: 'yhat', values: model.yhat, color: color('blue'), width: 2, dash: [5, 4] });
    model.bands.forEach((b, i) => {
      lines.push({ name: `upper ${b.level} %`, values: b.upper, color: 'transparent', width: 0 });
      lines.push({ name: `lower ${b.level} %`, values: b.lower, color: 'transparent', width: 0 });
      const idx = lines.length - 1; // uPlot series index of lower (series 0 is x)
      bands.push({ upper: idx, lower: idx + 1, fill: withAlpha(color('blue'), i === 0 ? 0.12 : 0.22) });
    });
  }

  const builder = new UPlotConfigBuilder(timeZone);
  builder.addScale({
    scaleKey: 'x',
    isTime: true,
    orientation: ScaleOrientation.Horizontal,
    direction: ScaleDirection.Right,
  });
  builder.addAxis({ scaleKey: 'x', isTime: true, placement: AxisPlacement.Bottom, theme, timeZone });
  builder.addScale({
    scaleKey: 'y',
    orientation: ScaleOrientation.Vertical,
    direction: ScaleDirection.Up,
    softMin: model.kind === 'completion' ? 0 : undefined,
    decimals: model.format.decimals,
  });
  builder.addAxis({
    scaleKey: 'y',
    placement: AxisPlacement.Left,
    theme,
    decimals: model.format.decimals,
    formatValue: formatter(model.format),
  });
  for (const l of lines) {
    builder.addSeries({
      scaleKey: 'y',
      theme,
      drawStyle: GraphDrawStyle.Line,
      lineColor: l.color,
      lineWidth: l.width,
      lineStyle: l.dash ? { fill: 'dash', dash: l.dash } : { fill: 'solid' },
      showPoints: VisibilityMode.Never,
      spanNulls: false,
      fillOpacity: 0,
    });
  }
  for (const b of bands) {
    builder.addBand({ series: [b.upper, b.lower], fill: b.fill });
  }
  if (model.kind === 'completion') {
    builder.addHook('draw', drawDateMarkers(model, theme));
  }
  const data: AlignedData = [model.times, ...lines.map((l) => l.values)];
  return { data, builder, names: lines.map((l) => l.name), bands: bands.length };
}

/**
 * Vertical markers at the percentile dates. uPlot has no annotation series of its own, so they are
 * drawn on its canvas in the draw hook (Grafana's panels do the same for thresholds).
 */
function drawDateMarkers(model: CompletionModel, theme: GrafanaTheme2) {
  return (u: uPlot) => {
    const ctx = u.ctx;
    const ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.strokeStyle = theme.colors.border.medium;
    ctx.fillStyle = theme.colors.text.secondary;
    ctx.setLineDash([2 * ratio, 3 * ratio]);
    ctx.font = `${11 * ratio}px ${theme.typography.fontFamily}`;
    ctx.textAlign = 'right';
    for (const d of model.dates) {
      if (d.date === null) {
        continue;
      }
      const x = u.valToPos(d.date, 'x', true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) {
        continue;
      }
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillText(`P${d.percentile}`, x - 3 * ratio, u.bbox.top + 12 * ratio);
    }
    ctx.restore();
  };
}

function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (!hex) {
    return color;
  }
  const n = parseInt(hex[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
