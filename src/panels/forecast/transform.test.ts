import fs from 'fs';
import path from 'path';
import { createDataFrame, DataFrame, dataFrameFromJSON, DataFrameJSON, FieldType } from '@grafana/data';

import { extent, toForecastModel } from './transform';

/** Frames the Go backend wrote through the plugin protocol (pkg/plugin, KPIFLOW_WRITE_FIXTURES=1). */
function backendFrames(name: string): DataFrame[] {
  const file = path.join(__dirname, '..', '..', '..', 'tests', 'fixtures', name);
  const body = JSON.parse(fs.readFileSync(file, 'utf8')) as { frames: DataFrameJSON[] };
  return body.frames.map((f) => dataFrameFromJSON(f));
}

const lastValue = (xs: Array<number | null>) => xs.reduce<number>((last, v, i) => (v === null ? last : i), -1);

describe('toForecastModel', () => {
  it('reads the backend burn-up with its percentile dates', () => {
    const frames = backendFrames('forecast-completion.json');
    const m = toForecastModel(frames);
    expect(m.kind).toBe('completion');
    if (m.kind !== 'completion') {
      return;
    }
    expect(m.projections.map((p) => p.percentile)).toEqual([50, 70, 85, 95]);
    const dates = frames.find((f) => f.name === 'dates')!;
    expect(m.dates.map((d) => d.date)).toEqual(dates.fields[1].values);
    // The actual line ends where the projections start.
    const last = lastValue(m.done);
    expect(last).toBeGreaterThan(0);
    for (const p of m.projections) {
      expect(p.values[last]).toBe(m.done[last]);
      expect(p.values[last - 1]).toBeNull();
    }
    // Higher percentiles are never more optimistic.
    for (let i = last; i < m.times.length; i++) {
      for (let k = 1; k < m.projections.length; k++) {
        expect(m.projections[k].values[i]!).toBeLessThanOrEqual(m.projections[k - 1].values[i]!);
      }
    }
  });

  it('reads the backend KPI trend with its two interval levels', () => {
    const m = toForecastModel(backendFrames('forecast-trend.json'));
    expect(m.kind).toBe('kpi_trend');
    if (m.kind !== 'kpi_trend') {
      return;
    }
    expect(m.name).toBe('requests_per_s');
    expect(m.bands.map((b) => b.level)).toEqual([95, 80]);
    expect(m.caption).toMatch(/^(ses|holt|damped_holt|holt_winters), MASE \d+\.\d\d$/);
    const future = lastValue(m.value) + 1;
    expect(future).toBeLessThan(m.times.length);
    for (let i = future; i < m.times.length; i++) {
      const [b95, b80] = m.bands;
      expect(b95.lower[i]!).toBeLessThanOrEqual(b80.lower[i]!);
      expect(b80.lower[i]!).toBeLessThanOrEqual(m.yhat[i]!);
      expect(m.yhat[i]!).toBeLessThanOrEqual(b80.upper[i]!);
      expect(b80.upper[i]!).toBeLessThanOrEqual(b95.upper[i]!);
    }
  });

  it('sends task ETAs to a table panel', () => {
    const m = toForecastModel(backendFrames('forecast-task-eta.json'));
    expect(m).toEqual({ kind: 'empty', reason: expect.stringContaining('table panel') });
  });

  it('shows dates outside the horizon as missing and keeps each group apart', () => {
    const burnup = createDataFrame({
      name: 'burnup',
      fields: [
        { name: 'time', type: FieldType.time, values: [1000, 2000] },
        { name: 'done', type: FieldType.number, values: [1, null], labels: { team: 'b' } },
        { name: 'p50', type: FieldType.number, values: [null, 2], labels: { team: 'b' } },
      ],
    });
    const dates = createDataFrame({
      name: 'dates',
      fields: [
        { name: 'team', type: FieldType.string, values: ['a', 'b', 'b'] },
        { name: 'percentile', type: FieldType.number, values: [50, 85, 50] },
        { name: 'date', type: FieldType.time, values: [5, null, 7] },
      ],
    });
    const m = toForecastModel([burnup, dates]);
    expect(m.kind === 'completion' && m.dates).toEqual([
      { percentile: 50, date: 7 },
      { percentile: 85, date: null },
    ]);
    expect(m.kind === 'completion' && m.groupLabel).toBe('team=b');
  });

  it('is empty without forecast frames', () => {
    expect(toForecastModel([]).kind).toBe('empty');
  });

  it('finds the extent of series with gaps', () => {
    expect(
      extent([
        [null, 3],
        [1, null],
      ])
    ).toEqual([1, 3]);
    expect(extent([[null]])).toBeUndefined();
  });
});
