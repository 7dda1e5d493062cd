import fs from 'fs';
import path from 'path';

import { defaultQuery, FORECAST_FIELDS, FORECAST_MODES, forecastForMode, ForecastQuery } from './query';

const jsonPath = path.join(__dirname, 'forecast-mode-queries.json');

/** What the forecast editor sends after switching from the default query to each mode. */
function modeQueries(): Record<string, ForecastQuery> {
  const base = defaultQuery('forecast', { refId: 'A' }) as ForecastQuery;
  const out: Record<string, ForecastQuery> = {};
  for (const m of FORECAST_MODES) {
    out[m] = forecastForMode(base, m);
  }
  return out;
}

describe('forecastForMode', () => {
  beforeEach(() => {
    jest.useFakeTimers().setSystemTime(new Date('2026-11-20T00:00:00Z'));
  });
  afterEach(() => jest.useRealTimers());

  it('forecast-mode-queries.json equals what the editor produces (the Go tests send the JSON)', () => {
    const onDisk = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(modeQueries())));
  });

  it('keeps only the fields the new mode reads', () => {
    for (const [mode, q] of Object.entries(modeQueries())) {
      const allowed = new Set<string>(['refId', 'queryType', 'mode', ...FORECAST_FIELDS[q.mode]]);
      expect(Object.keys(q).filter((k) => !allowed.has(k))).toEqual([]);
      expect(q.mode).toBe(mode);
    }
  });

  it('drops what means something else in the other mode', () => {
    const trend = forecastForMode(
      {
        refId: 'A',
        queryType: 'forecast',
        mode: 'kpi_trend',
        metrics: ['m'],
        groupBy: ['service'],
        horizon: 48,
        format: 'numeric',
      },
      'completion'
    );
    expect(trend).toEqual({ refId: 'A', queryType: 'forecast', mode: 'completion', format: 'numeric' });
    const eta = forecastForMode(
      { refId: 'A', queryType: 'forecast', mode: 'completion', format: 'numeric', dueDate: '2027-01-01' },
      'task_eta'
    );
    expect(eta).toEqual({ refId: 'A', queryType: 'forecast', mode: 'task_eta' });
    const howMany = forecastForMode({ refId: 'A', queryType: 'forecast', mode: 'completion' }, 'how_many');
    expect(howMany.targetDate).toBe('2026-12-20');
  });
});
