import React, { useMemo } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { TimeZone } from '@grafana/schema';
import { useStyles2, useTheme2 } from '@grafana/ui';

import { Axes, DEFAULT_MARGINS } from '../../components/chart/Axes';
import { areaPath, linearScale } from '../../components/chart/scale';
import { selectors } from '../../components/selectors';
import { CfdModel } from './transform';

interface Props {
  model: CfdModel;
  width: number;
  height: number;
  timeZone?: TimeZone;
}

const CATEGORY_COLORS: Record<string, string> = { done: 'green', in_progress: 'blue', todo: 'orange' };
const LABELS: Record<string, string> = { done: 'Done', in_progress: 'In progress', todo: 'To do' };

/** Colour of a band: fixed per state category, else the visualization palette in order. */
export function bandColor(theme: GrafanaTheme2, name: string, index: number): string {
  const named = CATEGORY_COLORS[name];
  if (named) {
    return theme.visualization.getColorByName(named);
  }
  const palette = theme.visualization.palette;
  return theme.visualization.getColorByName(palette[index % palette.length]);
}

const getStyles = (theme: GrafanaTheme2) => ({
  legend: css({
    display: 'flex',
    flexWrap: 'wrap',
    gap: theme.spacing(2),
    fontSize: theme.typography.bodySmall.fontSize,
    paddingLeft: DEFAULT_MARGINS.left,
  }),
  swatch: css({
    display: 'inline-block',
    width: 10,
    height: 10,
    borderRadius: 2,
    marginRight: theme.spacing(0.5),
  }),
});

const LEGEND_HEIGHT = 20;

/** Cumulative flow: stacked areas per state over time, done at the bottom. */
export function CfdChart({ model, width, height, timeZone }: Props) {
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  const chartHeight = Math.max(40, height - LEGEND_HEIGHT);
  const m = DEFAULT_MARGINS;
  const paths = useMemo(() => {
    const t0 = model.times[0] ?? 0;
    const t1 = model.times[model.times.length - 1] ?? 1;
    const x = linearScale([t0, t1], [m.left, Math.max(m.left + 1, width - m.right)]);
    const y = linearScale([0, Math.max(1, model.maxTotal)], [chartHeight - m.bottom, m.top]);
    const xs = model.times.map(x);
    return {
      x,
      y,
      bands: model.bands.map((b, i) => ({
        name: b.name,
        color: bandColor(theme, b.name, i),
        d: areaPath(xs, b.upper.map(y), b.lower.map(y)),
      })),
    };
  }, [model, width, chartHeight, theme, m]);

  // Legend reads top to bottom like the stack.
  const legend = [...paths.bands].reverse();
  return (
    <div data-testid={selectors.panels.taskflow.cfd}>
      <svg width={width} height={chartHeight} role="img" aria-label="Cumulative flow diagram">
        <Axes x={paths.x} y={paths.y} theme={theme} timeZone={timeZone} />
        {paths.bands.map((b) => (
          <path
            key={b.name}
            data-testid={selectors.panels.taskflow.cfdArea}
            data-state={b.name}
            d={b.d}
            fill={b.color}
            fillOpacity={0.75}
            stroke={b.color}
            strokeWidth={1}
          >
            <title>{LABELS[b.name] ?? b.name}</title>
          </path>
        ))}
      </svg>
      <div className={styles.legend}>
        {legend.map((b) => (
          <span key={b.name}>
            <span className={styles.swatch} style={{ background: b.color }} />
            {LABELS[b.name] ?? b.name}
          </span>
        ))}
      </div>
    </div>
  );
}
