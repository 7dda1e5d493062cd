import { createDataFrame, DataFrame, FieldType } from '@grafana/data';

/**
 * Frames in the shapes the backend's forecast queries return, used until the Go forecast exists
 * (and by tests and the browser harness).
 */

const DAY = 86_400_000;
export const FORECAST_NOW = Date.UTC(2025, 4, 30);
export const FIXTURE_SCOPE = 120;
const HISTORY_DAYS = 30;
const DONE_NOW = 60;
/** Items per day each percentile's projection assumes (P95 is the slowest). */
const RATES: Record<number, number> = { 50: 2.0, 70: 1.7, 85: 1.4, 95: 1.1 };
export const FIXTURE_PERCENTILES = [50, 70, 85, 95];

/** The day each percentile's projection reaches the scope. */
export function fixtureCompletionDate(p: number): number {
  return FORECAST_NOW + Math.ceil((FIXTURE_SCOPE - DONE_NOW) / RATES[p]) * DAY;
}

/** Burn-up: [time, done (actual cumulative), p50, p70, p85, p95 (cumulative projections)]. */
export function makeCompletionFrame(): DataFrame {
  const end = fixtureCompletionDate(95);
  const time: number[] = [];
  const done: Array<number | null> = [];
  const proj: Record<number, Array<number | null>> = { 50: [], 70: [], 85: [], 95: [] };
  for (let t = FORECAST_NOW - HISTORY_DAYS * DAY; t <= end; t += DAY) {
    const d = (t - FORECAST_NOW) / DAY;
    time.push(t);
    if (d <= 0) {
      // Actual: a slightly uneven climb to DONE_NOW.
      const k = HISTORY_DAYS + d;
      done.push(Math.round((DONE_NOW * k) / HISTORY_DAYS - 3 * Math.sin(k / 3) * (k > 0 && k < HISTORY_DAYS ? 1 : 0)));
    } else {
      done.push(null);
    }
    for (const p of FIXTURE_PERCENTILES) {
      proj[p].push(d < 0 ? null : Math.min(FIXTURE_SCOPE, DONE_NOW + RATES[p] * d));
    }
  }
  return createDataFrame({
    refId: 'A',
    name: 'completion',
    fields: [
      { name: 'time', type: FieldType.time, values: time },
      { name: 'done', type: FieldType.number, values: done },
      ...FIXTURE_PERCENTILES.map((p) => ({ name: `p${p}`, type: FieldType.number, values: proj[p] })),
    ],
  });
}

/** Percentile dates: [percentile (number), date (time)]. */
export function makePercentileTableFrame(): DataFrame {
  return createDataFrame({
    refId: 'A',
    name: 'completion_dates',
    fields: [
      { name: 'percentile', type: FieldType.number, values: FIXTURE_PERCENTILES },
      { name: 'date', type: FieldType.time, values: FIXTURE_PERCENTILES.map(fixtureCompletionDate) },
    ],
  });
}

/** KPI trend: [time, value (actual, nullable), yhat, yhat_lower, yhat_upper]. */
export function makeTrendFrame(): DataFrame {
  const time: number[] = [];
  const value: Array<number | null> = [];
  const yhat: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  for (let d = -45; d <= 30; d++) {
    const base = 40 + 0.3 * d + 4 * Math.sin(d / 3.5);
    time.push(FORECAST_NOW + d * DAY);
    value.push(d <= 0 ? Math.round((base + 2 * Math.cos(d * 1.7)) * 10) / 10 : null);
    const w = d <= 0 ? 2 : 2 + 0.25 * d;
    yhat.push(Math.round(base * 10) / 10);
    lower.push(Math.round((base - w) * 10) / 10);
    upper.push(Math.round((base + w) * 10) / 10);
  }
  return createDataFrame({
    refId: 'A',
    name: 'kpi_trend',
    fields: [
      { name: 'time', type: FieldType.time, values: time },
      { name: 'value', type: FieldType.number, values: value },
      { name: 'yhat', type: FieldType.number, values: yhat },
      { name: 'yhat_lower', type: FieldType.number, values: lower },
      { name: 'yhat_upper', type: FieldType.number, values: upper },
    ],
  });
}
