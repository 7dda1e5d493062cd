import { DataFrame, Field, FieldType } from '@grafana/data';

/**
 * Pure transforms from the backend's forecast frames (pkg/query/forecast*.go) to render models (no
 * React). Completion answers a `burnup` frame (time, done, scope, p50, p70, …) and a `dates` table
 * (percentile, date, days, within_horizon); kpi_trend answers per series a frame (time, <metric>,
 * yhat, yhat_lower/yhat_upper labelled level="80" and level="95") and a `models` table.
 */

export interface PercentileSeries {
  percentile: number;
  values: Array<number | null>;
}

export interface PercentileDate {
  percentile: number;
  /** Epoch ms of the day the work is done by; null when not within the horizon. */
  date: number | null;
}

/** Unit and decimals of the values, from Grafana's field config (panel defaults or the backend's). */
export interface ValueFormat {
  unit?: string;
  decimals?: number;
}

export interface CompletionModel {
  kind: 'completion';
  times: number[];
  /** Actual cumulative done count; null in the future. */
  done: Array<number | null>;
  /** Total scope (done so far plus remaining, growing with scope growth); null in the past. */
  scope: Array<number | null>;
  /** Items done with at least P % chance, ascending percentile. */
  projections: PercentileSeries[];
  dates: PercentileDate[];
  format: ValueFormat;
  /** The burn-up frames answered (one per team/project with a grouping); the first is drawn. */
  groups: number;
  /** Labels of the drawn group, e.g. team=checkout. */
  groupLabel: string;
}

export interface TrendBand {
  level: number;
  lower: Array<number | null>;
  upper: Array<number | null>;
}

export interface TrendModel {
  kind: 'kpi_trend';
  times: number[];
  name: string;
  value: Array<number | null>;
  yhat: Array<number | null>;
  /** Prediction intervals, widest first. */
  bands: TrendBand[];
  format: ValueFormat;
  /** E.g. "holt_winters, MASE 0.71", from the models table. */
  caption: string;
  groups: number;
}

export type ForecastModel = CompletionModel | TrendModel | { kind: 'empty'; reason: string };

const byName = (frame: DataFrame, name: string): Field | undefined => frame.fields.find((f) => f.name === name);
const timeOf = (frame: DataFrame) => frame.fields.find((f) => f.type === FieldType.time);

const num = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') {
    return null;
  }
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
};
const millis = (v: unknown): number | null => {
  if (typeof v === 'number') {
    return Number.isFinite(v) ? v : null;
  }
  if (v instanceof Date) {
    return v.getTime();
  }
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  return null;
};

const PCT_FIELD = /^p(\d{1,2}(?:\.\d+)?)$/;
const isDatesFrame = (f: DataFrame) => Boolean(byName(f, 'percentile') && byName(f, 'date'));
const isTrendFrame = (f: DataFrame) => Boolean(timeOf(f) && byName(f, 'yhat'));
const isBurnupFrame = (f: DataFrame) =>
  !isDatesFrame(f) && Boolean(timeOf(f)) && f.fields.some((x) => PCT_FIELD.test(x.name));

/** Row order by time, dropping rows without a valid time. */
function timeOrder(frame: DataFrame, time: Field): number[] {
  return Array.from({ length: frame.length }, (_, i) => i)
    .filter((i) => millis(time.values[i]) !== null)
    .sort((a, b) => (millis(time.values[a]) ?? 0) - (millis(time.values[b]) ?? 0));
}

function formatOf(f: Field | undefined): ValueFormat {
  return { unit: f?.config.unit, decimals: f?.config.decimals ?? undefined };
}

function labelText(f: Field | undefined): string {
  const labels = f?.labels ?? {};
  return Object.keys(labels)
    .filter((k) => k !== 'level')
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(', ');
}

/** Percentile dates of the first group in the dates table (rows without a percentile are skipped). */
export function toPercentileDates(frame: DataFrame, group?: string): PercentileDate[] {
  const p = byName(frame, 'percentile');
  const d = byName(frame, 'date');
  const g = frame.fields.find((f) => f.name === 'team' || f.name === 'project');
  if (!p || !d) {
    return [];
  }
  const out: PercentileDate[] = [];
  for (let i = 0; i < frame.length; i++) {
    if (g && group !== undefined && String(g.values[i]) !== group) {
      continue;
    }
    const percentile = num(p.values[i]);
    if (percentile !== null) {
      out.push({ percentile, date: millis(d.values[i]) });
    }
  }
  return out.sort((a, b) => a.percentile - b.percentile);
}

export function toCompletionModel(frames: DataFrame[], datesFrame?: DataFrame): CompletionModel {
  const frame = frames[0];
  const time = timeOf(frame);
  const order = time ? timeOrder(frame, time) : [];
  const col = (f?: Field) => order.map((i) => num(f?.values[i]));
  const doneField = byName(frame, 'done');
  const groupValue = doneField?.labels ? Object.values(doneField.labels)[0] : undefined;
  const projections: PercentileSeries[] = frame.fields
    .map((f) => ({ f, m: PCT_FIELD.exec(f.name) }))
    .filter((x): x is { f: Field; m: RegExpExecArray } => x.m !== null)
    .map(({ f, m }) => ({ percentile: Number(m[1]), values: col(f) }))
    .sort((a, b) => a.percentile - b.percentile);
  return {
    kind: 'completion',
    times: order.map((i) => millis(time?.values[i]) ?? 0),
    done: col(doneField),
    scope: col(byName(frame, 'scope')),
    projections,
    dates: datesFrame ? toPercentileDates(datesFrame, groupValue) : [],
    format: formatOf(doneField),
    groups: frames.length,
    groupLabel: labelText(doneField),
  };
}

export function toTrendModel(frames: DataFrame[], models?: DataFrame): TrendModel {
  const frame = frames[0];
  const time = timeOf(frame);
  const order = time ? timeOrder(frame, time) : [];
  const col = (f?: Field) => order.map((i) => num(f?.values[i]));
  const actual = frame.fields.find((f) => f.type === FieldType.number && !f.name.startsWith('yhat'));
  const levels = new Map<number, TrendBand>();
  for (const f of frame.fields) {
    if (f.name !== 'yhat_lower' && f.name !== 'yhat_upper') {
      continue;
    }
    const level = Number(f.labels?.level ?? 95);
    const band = levels.get(level) ?? { level, lower: [], upper: [] };
    band[f.name === 'yhat_lower' ? 'lower' : 'upper'] = col(f);
    levels.set(level, band);
  }
  let caption = '';
  if (models && models.length > 0) {
    const model = byName(models, 'model')?.values[0];
    const mase = num(byName(models, 'mase')?.values[0]);
    caption = `${String(model ?? '')}${mase !== null ? `, MASE ${mase.toFixed(2)}` : ''}`;
  }
  const name = actual ? [actual.name, labelText(actual)].filter(Boolean).join(' ') : 'value';
  return {
    kind: 'kpi_trend',
    times: order.map((i) => millis(time?.values[i]) ?? 0),
    name,
    value: col(actual),
    yhat: col(byName(frame, 'yhat')),
    bands: [...levels.values()].sort((a, b) => b.level - a.level),
    format: formatOf(actual),
    caption,
    groups: frames.length,
  };
}

/** Picks the frames by shape: trend (yhat), burn-up (p50…) with its dates table. */
export function toForecastModel(frames: DataFrame[]): ForecastModel {
  const trends = frames.filter(isTrendFrame);
  if (trends.length > 0) {
    return toTrendModel(
      trends,
      frames.find((f) => f.name === 'models')
    );
  }
  const burnups = frames.filter(isBurnupFrame);
  const dates = frames.find(isDatesFrame);
  if (burnups.length > 0) {
    return toCompletionModel(burnups, dates);
  }
  if (frames.some((f) => f.name === 'task_eta' || f.name === 'how_many')) {
    return { kind: 'empty', reason: 'This forecast answers a table: show it with a table panel.' };
  }
  return { kind: 'empty', reason: 'No forecast data. Use a kpiflow query of type Forecast (completion or KPI trend).' };
}

/** [min, max] of the non-null values of some series, or undefined when all are null. */
export function extent(series: Array<Array<number | null>>): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const v of s) {
      if (v !== null) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  return Number.isFinite(lo) ? [lo, hi] : undefined;
}
