import React from 'react';
import { dateTimeFormat, GrafanaTheme2 } from '@grafana/data';
import { TimeZone } from '@grafana/schema';

import { LinearScale, niceTicks, timeTicks } from './scale';

export interface Margins {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export const DEFAULT_MARGINS: Margins = { top: 8, right: 16, bottom: 24, left: 48 };

interface Props {
  x: LinearScale;
  y: LinearScale;
  theme: GrafanaTheme2;
  timeZone?: TimeZone;
  yFormat?: (v: number) => string;
}

function timeFormatFor(span: number): string {
  if (span <= 2 * 86_400_000) {
    return 'HH:mm';
  }
  if (span <= 400 * 86_400_000) {
    return 'MM-DD';
  }
  return 'YYYY-MM';
}

/** Time x axis and numeric y axis with grid lines, drawn in SVG. */
export function Axes({ x, y, theme, timeZone, yFormat }: Props) {
  const [x0, x1] = x.domain;
  const [y0, y1] = y.domain;
  const xt = timeTicks(x0, x1, Math.max(2, Math.floor((x.range[1] - x.range[0]) / 90)));
  const yt = niceTicks(y0, y1, Math.max(2, Math.floor((y.range[0] - y.range[1]) / 40)));
  const format = timeFormatFor(x1 - x0);
  const grid = theme.colors.border.weak;
  const text = theme.colors.text.secondary;
  const fontSize = theme.typography.bodySmall.fontSize;
  return (
    <g aria-hidden="true">
      {yt.map((v) => (
        <g key={`y${v}`}>
          <line x1={x.range[0]} x2={x.range[1]} y1={y(v)} y2={y(v)} stroke={grid} />
          <text x={x.range[0] - 6} y={y(v)} dy="0.32em" textAnchor="end" fill={text} fontSize={fontSize}>
            {yFormat ? yFormat(v) : String(v)}
          </text>
        </g>
      ))}
      {xt.map((t) => (
        <text key={`x${t}`} x={x(t)} y={y.range[0] + 16} textAnchor="middle" fill={text} fontSize={fontSize}>
          {dateTimeFormat(t, { format, timeZone })}
        </text>
      ))}
      <line x1={x.range[0]} x2={x.range[1]} y1={y.range[0]} y2={y.range[0]} stroke={theme.colors.border.medium} />
    </g>
  );
}
