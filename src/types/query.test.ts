import fs from 'fs';
import path from 'path';

import { defaultQueries, defaultQuery, normalizeQuery, QUERY_TYPES } from './query';

const jsonPath = path.join(__dirname, 'default-queries.json');

describe('default queries', () => {
  it('default-queries.json equals the TypeScript defaults (the Go tests read the JSON)', () => {
    const onDisk = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(defaultQueries)));
  });

  it('has one default per queryType, keyed by its own type', () => {
    expect(Object.keys(defaultQueries).sort()).toEqual([...QUERY_TYPES].sort());
    for (const t of QUERY_TYPES) {
      expect(defaultQueries[t].queryType).toBe(t);
    }
  });

  it('defaultQuery keeps refId and returns a copy', () => {
    const q = defaultQuery('forecast', { refId: 'B' });
    expect(q).toMatchObject({ refId: 'B', queryType: 'forecast', historyDays: 90, trials: 10000 });
    if (q.queryType === 'forecast') {
      q.percentiles?.push(99);
    }
    expect(defaultQueries.forecast.percentiles).toEqual([50, 70, 85, 95]);
  });
});

describe('normalizeQuery', () => {
  it('turns a bare query into the kpi default', () => {
    expect(normalizeQuery({ refId: 'A' })).toEqual({ refId: 'A', ...defaultQueries.kpi });
  });

  it('fills missing fields and keeps given ones', () => {
    const q = normalizeQuery({ refId: 'A', queryType: 'dora', metric: 'lead_time' } as never);
    expect(q).toMatchObject({
      queryType: 'dora',
      metric: 'lead_time',
      environment: 'production',
      format: 'timeseries',
    });
  });

  it('replaces an unknown queryType', () => {
    expect(normalizeQuery({ refId: 'A', queryType: 'nope' }).queryType).toBe('kpi');
  });
});
