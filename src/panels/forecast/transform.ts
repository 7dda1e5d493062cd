import { DataFrame, Field, FieldType } from '@grafana/data';

/** Pure transforms from forecast frames to render models (no React). */

export interface PercentileSeries {
  percentile: number;
  values: Array<number | null>;
}

export interface CompletionModel {
  kind: 'completion';
  times: number[];
  /** Actual cumulative done count; null where there is no actual (the future). */
  done: Array<number | null>;
  /** Cumulative projections, ascending percentile. */
  projections: PercentileSeries[];
  dates: PercentileDate[];
  maxValue: number;
}

export interface PercentileDate {
  percentile: number;
  /** Epoch ms. */
  date: number;
}

export interface TrendModel {
  kind: 'kpi_trend';
  times: number[];
  value: Array<number | null>;
  yhat: Array<number | null>;
  lower: Array<number | null>;
  upper: Array<number | null>;
  minValue: number;
  maxValue: number;
  dates: PercentileDate[];
}

export type ForecastModel = CompletionModel | TrendModel | { kind: 'empty' };

const byName = (frame: DataFrame, name: string): Field | undefined =>
  frame.fields.find((f) => f.name.toLowerCase() === name);
const timeOf = (frame: DataFrame) => frame.fields.find((f) => f.type === FieldType.time) ?? byName(frame, 'time');

const num = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') {
    return null;
  }
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
};
const millis = (v: unknown): number => {
  if (typeof v === 'number') {
    return v;
  }
  if (v instanceof Date) {
    return v.getTime();
  }
  return typeof v === 'string' ? Date.parse(v) : NaN;
};

const isTableFrame = (f: DataFrame) => Boolean(byName(f, 'percentile') && byName(f, 'date'));
const isTrendFrame = (f: DataFrame) => Boolean(byName(f, 'yhat'));
const PCT_FIELD = /^p(\d{1,2}(?:\.\d+)?)$/i;
const isCompletionFrame = (f: DataFrame) =>
  !isTableFrame(f) && Boolean(timeOf(f)) && f.fields.some((x) => PCT_FIELD.test(x.name));

/** Sorted row order by time, dropping rows without a valid time. */
function timeOrder(frame: DataFrame, time: Field): number[] {
  return Array.from({ length: frame.length }, (_, i) => i)
    .filter((i) => Number.isFinite(millis(time.values[i])))
    .sort((a, b) => millis(time.values[a]) - millis(time.values[b]));
}

export function toPercentileDates(frame: DataFrame): PercentileDate[] {
  const p = byName(frame, 'percentile');
  const d = byName(frame, 'date');
  if (!p || !d) {
    return [];
  }
  const out: PercentileDate[] = [];
  for (let i = 0; i < frame.length; i++) {
    const percentile = num(p.values[i]);
    const date = millis(d.values[i]);
    if (percentile !== null && Number.isFinite(date)) {
      out.push({ percentile, date });
    }
  }
  return out.sort((a, b) => a.percentile - b.percentile);
}

export function toCompletionModel(frame: DataFrame, dates: PercentileDate[]): CompletionModel {
  const time = timeOf(frame);
  const order = time ? timeOrder(frame, time) : [];
  const times = time ? order.map((i) => millis(time.values[i])) : [];
  const doneField = byName(frame, 'done');
  const done = order.map((i) => num(doneField?.values[i]));
  const projections: PercentileSeries[] = frame.fields
    .map((f) => ({ f, m: PCT_FIELD.exec(f.name) }))
    .filter((x): x is { f: Field; m: RegExpExecArray } => x.m !== null)
    .map(({ f, m }) => ({ percentile: Number(m[1]), values: order.map((i) => num(f.values[i])) }))
    .sort((a, b) => a.percentile - b.percentile);
  let maxValue = 0;
  for (const s of [done, ...projections.map((p) => p.values)]) {
    for (const v of s) {
      if (v !== null && v > maxValue) {
        maxValue = v;
      }
    }
  }
  return { kind: 'completion', times, done, projections, dates, maxValue };
}

export function toTrendModel(frame: DataFrame, dates: PercentileDate[]): TrendModel {
  const time = timeOf(frame);
  const order = time ? timeOrder(frame, time) : [];
  const col = (name: string) => {
    const f = byName(frame, name);
    return order.map((i) => num(f?.values[i]));
  };
  const model: TrendModel = {
    kind: 'kpi_trend',
    times: time ? order.map((i) => millis(time.values[i])) : [],
    value: col('value'),
    yhat: col('yhat'),
    lower: col('yhat_lower'),
    upper: col('yhat_upper'),
    minValue: Infinity,
    maxValue: -Infinity,
    dates,
  };
  for (const s of [model.value, model.yhat, model.lower, model.upper]) {
    for (const v of s) {
      if (v !== null) {
        model.minValue = Math.min(model.minValue, v);
        model.maxValue = Math.max(model.maxValue, v);
      }
    }
  }
  if (!Number.isFinite(model.minValue)) {
    model.minValue = 0;
    model.maxValue = 1;
  }
  return model;
}

/** Picks the frames by shape: trend (yhat), completion (p50...), percentile dates table. */
export function toForecastModel(frames: DataFrame[]): ForecastModel {
  const table = frames.find(isTableFrame);
  const dates = table ? toPercentileDates(table) : [];
  const trend = frames.find(isTrendFrame);
  if (trend) {
    return toTrendModel(trend, dates);
  }
  const completion = frames.find(isCompletionFrame);
  if (completion) {
    return toCompletionModel(completion, dates);
  }
  if (dates.length > 0) {
    return { kind: 'completion', times: [], done: [], projections: [], dates, maxValue: 0 };
  }
  return { kind: 'empty' };
}
