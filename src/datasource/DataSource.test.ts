import { DataSourceInstanceSettings } from '@grafana/data';

import { KpiflowJsonData } from '../types/config';
import { DataSource, filterByRegex, sqlQuote } from './DataSource';

const replace = jest.fn((v: string) => v.replace('$team', 'platform'));

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => ({ replace }),
}));

function makeDs() {
  const settings = {
    id: 1,
    uid: 'ds',
    type: 'kpiflow-clickhouse-datasource',
    name: 'kpiflow',
    jsonData: { host: 'ch' },
    meta: {},
    readOnly: false,
    access: 'proxy',
  } as unknown as DataSourceInstanceSettings<KpiflowJsonData>;
  return new DataSource(settings);
}

describe('DataSource', () => {
  it('lists resource values and keeps only strings', async () => {
    const ds = makeDs();
    jest.spyOn(ds, 'getResource').mockResolvedValue(['a', 1, 'b']);
    await expect(ds.getTeams()).resolves.toEqual(['a', 'b']);
  });

  it('answers an empty list when the endpoint fails (e.g. 404)', async () => {
    const ds = makeDs();
    jest.spyOn(ds, 'getResource').mockRejectedValue(new Error('404'));
    await expect(ds.getMetrics()).resolves.toEqual([]);
    await expect(ds.getLabelValues('env')).resolves.toEqual([]);
  });

  it('passes the label key to labels/values', async () => {
    const ds = makeDs();
    const spy = jest.spyOn(ds, 'getResource').mockResolvedValue(['prod']);
    await ds.metricFindQuery({ refId: 'v', kind: 'labelValues', labelKey: 'env' });
    expect(spy).toHaveBeenCalledWith('labels/values', { key: 'env' });
  });

  it('interpolates variables in builder queries', () => {
    const ds = makeDs();
    const q = ds.applyTemplateVariables({ refId: 'A', queryType: 'taskflow', view: 'cfd', teams: ['$team'] }, {});
    expect(q).toMatchObject({ queryType: 'taskflow', teams: ['platform'] });
  });

  it('skips hidden and empty queries', () => {
    const ds = makeDs();
    expect(ds.filterQuery({ refId: 'A', queryType: 'sql', rawSql: ' ', format: 'table' })).toBe(false);
    expect(
      ds.filterQuery({
        refId: 'A',
        queryType: 'dora',
        metric: 'lead_time',
        groupBy: [],
        environment: 'production',
        format: 'table',
        hide: true,
      })
    ).toBe(false);
    expect(
      ds.filterQuery({
        refId: 'A',
        queryType: 'dora',
        metric: 'lead_time',
        groupBy: [],
        environment: 'production',
        format: 'table',
      })
    ).toBe(true);
  });

  it('formats multi-values for SQL like the ClickHouse data source', () => {
    expect(sqlQuote(['a', "o'b"])).toBe("'a','o\\'b'");
    expect(sqlQuote('plain')).toBe('plain');
  });

  it('filters by regex and ignores a broken one', () => {
    expect(filterByRegex(['ab', 'cd'], '^a')).toEqual(['ab']);
    expect(filterByRegex(['ab', 'cd'], '(')).toEqual(['ab', 'cd']);
  });
});
