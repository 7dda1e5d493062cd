import { createDataFrame, FieldType } from '@grafana/data';

import { fixtureCompletionDate, makeCompletionFrame, makePercentileTableFrame, makeTrendFrame } from './fixtures';
import { toForecastModel } from './transform';

describe('toForecastModel', () => {
  it('reads a burn-up with its percentile table', () => {
    const m = toForecastModel([makeCompletionFrame(), makePercentileTableFrame()]);
    expect(m.kind).toBe('completion');
    if (m.kind !== 'completion') {
      return;
    }
    expect(m.projections.map((p) => p.percentile)).toEqual([50, 70, 85, 95]);
    expect(m.dates).toEqual([50, 70, 85, 95].map((p) => ({ percentile: p, date: fixtureCompletionDate(p) })));
    expect(new Date(m.dates[0].date).toISOString().slice(0, 10)).toBe('2025-06-29');
    expect(m.done[0]).toBe(0);
    expect(m.done[m.done.length - 1]).toBeNull();
    expect(m.maxValue).toBe(120);
  });

  it('reads a KPI trend with nullable actuals', () => {
    const m = toForecastModel([makeTrendFrame()]);
    expect(m.kind).toBe('kpi_trend');
    if (m.kind !== 'kpi_trend') {
      return;
    }
    expect(m.times).toHaveLength(76);
    expect(m.value[m.value.length - 1]).toBeNull();
    m.yhat.forEach((y, i) => {
      expect(m.lower[i]).toBeLessThanOrEqual(y ?? 0);
      expect(m.upper[i]).toBeGreaterThanOrEqual(y ?? 0);
    });
    expect(m.minValue).toBeLessThan(m.maxValue);
  });

  it('sorts the table by percentile and skips bad rows', () => {
    const table = createDataFrame({
      fields: [
        { name: 'percentile', type: FieldType.number, values: [85, 50, null] },
        { name: 'date', type: FieldType.time, values: [2000, 1000, 3000] },
      ],
    });
    const m = toForecastModel([table]);
    expect(m.kind === 'completion' && m.dates).toEqual([
      { percentile: 50, date: 1000 },
      { percentile: 85, date: 2000 },
    ]);
  });

  it('is empty without forecast frames', () => {
    expect(toForecastModel([]).kind).toBe('empty');
  });
});
