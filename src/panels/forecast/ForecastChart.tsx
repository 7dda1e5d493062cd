import React, { useMemo } from 'react';
import { TimeZone } from '@grafana/schema';
import { useTheme2 } from '@grafana/ui';

import { Axes, DEFAULT_MARGINS } from '../../components/chart/Axes';
import { areaPath, linePath, linearScale, niceTicks } from '../../components/chart/scale';
import { selectors } from '../../components/selectors';
import { CompletionModel, TrendModel } from './transform';

interface Props {
  model: CompletionModel | TrendModel;
  width: number;
  height: number;
  timeZone?: TimeZone;
}

/** Burn-up with the P50–P95 band, or a KPI trend with its prediction band. SVG only. */
export function ForecastChart({ model, width, height, timeZone }: Props) {
  const theme = useTheme2();
  const m = DEFAULT_MARGINS;
  const g = useMemo(() => {
    const t0 = model.times[0] ?? 0;
    const t1 = model.times[model.times.length - 1] ?? 1;
    const x = linearScale([t0, t1], [m.left, Math.max(m.left + 1, width - m.right)]);
    const [lo, hi] =
      model.kind === 'completion' ? [0, Math.max(1, model.maxValue)] : padded(model.minValue, model.maxValue);
    const y = linearScale([lo, hi], [height - m.bottom, m.top]);
    const xs = model.times.map(x);
    const py = (vs: Array<number | null>) => vs.map((v) => (v === null ? null : y(v)));
    if (model.kind === 'completion') {
      const first = model.projections[0];
      const last = model.projections[model.projections.length - 1];
      return {
        x,
        y,
        band: first && last && first !== last ? areaPath(xs, py(first.values), py(last.values)) : '',
        lines: model.projections.map((p) => ({ key: `p${p.percentile}`, d: linePath(xs, py(p.values)) })),
        main: linePath(xs, py(model.done)),
        markers: model.dates.map((d) => ({ key: d.percentile, x: x(d.date), label: `P${d.percentile}` })),
      };
    }
    return {
      x,
      y,
      band: areaPath(xs, py(model.upper), py(model.lower)),
      lines: [{ key: 'yhat', d: linePath(xs, py(model.yhat)) }],
      main: linePath(xs, py(model.value)),
      markers: [],
    };
  }, [model, width, height, m]);

  const bandColor = theme.visualization.getColorByName('blue');
  const actualColor = theme.visualization.getColorByName('green');
  const lineColor = theme.visualization.getColorByName('blue');
  return (
    <svg
      width={width}
      height={height}
      role="img"
      aria-label={model.kind === 'completion' ? 'Burn-up with forecast band' : 'KPI trend with prediction band'}
      data-testid={selectors.panels.forecast.chart}
    >
      <Axes x={g.x} y={g.y} theme={theme} timeZone={timeZone} />
      {g.band && <path data-testid={selectors.panels.forecast.band} d={g.band} fill={bandColor} fillOpacity={0.2} />}
      {g.lines.map((l) => (
        <path
          key={l.key}
          data-testid={model.kind === 'kpi_trend' ? selectors.panels.forecast.trendLine : undefined}
          data-series={l.key}
          d={l.d}
          fill="none"
          stroke={lineColor}
          strokeWidth={model.kind === 'kpi_trend' ? 2 : 1}
          strokeDasharray="5 4"
        />
      ))}
      <path
        data-testid={selectors.panels.forecast.actual}
        d={g.main}
        fill="none"
        stroke={actualColor}
        strokeWidth={2.5}
      />
      {g.markers
        .filter((mk) => mk.x >= m.left && mk.x <= width - m.right)
        .map((mk) => (
          <g key={mk.key}>
            <line
              x1={mk.x}
              x2={mk.x}
              y1={m.top}
              y2={height - m.bottom}
              stroke={theme.colors.border.medium}
              strokeDasharray="2 3"
            />
            <text
              x={mk.x - 3}
              y={m.top + 10}
              textAnchor="end"
              fontSize={theme.typography.bodySmall.fontSize}
              fill={theme.colors.text.secondary}
            >
              {mk.label}
            </text>
          </g>
        ))}
    </svg>
  );
}

function padded(lo: number, hi: number): [number, number] {
  const ticks = niceTicks(lo, hi, 5);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}
