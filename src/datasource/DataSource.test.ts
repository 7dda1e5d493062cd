import { createDataFrame, DataSourceInstanceSettings } from '@grafana/data';

import { KpiflowJsonData } from '../types/config';
import { SqlQuery } from '../types/query';
import { DataSource, filterByRegex, sqlQuote } from './DataSource';

const replace = jest.fn((v: string) => v.replace('$team', 'platform'));

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => ({ replace, getVariables: () => [] }),
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
  it('keeps every event of a live taskflow channel, and buffers other live frames as Grafana does', () => {
    const ds = makeDs();
    const request = { maxDataPoints: 300, rangeRaw: { from: 'now-1h', to: 'now' }, range: { from: 0, to: 3600_000 } };
    const opts = (name: string) =>
      ds.streamOptionsProvider(request as unknown as Parameters<typeof ds.streamOptionsProvider>[0], createDataFrame({ name, fields: [] }));
    expect(opts('events')).toMatchObject({ maxLength: 100_000, maxDelta: Infinity, action: 'append' });
    expect(opts('')).toMatchObject({ maxLength: 300, maxDelta: 3600_000, action: 'append' });
  });

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

  it('adds the ad hoc filters to kpi queries in the kpi shape', () => {
    const ds = makeDs();
    const q = ds.applyTemplateVariables({ refId: 'A', queryType: 'kpi', metrics: ['lead_time'] } as never, {}, [
      { key: 'team', operator: '=', value: 'core' },
      { key: 'env', operator: '=|', value: 'prod', values: ['prod', 'staging'] },
      { key: 'team', operator: '<', value: '3' },
    ]);
    expect(q).toMatchObject({
      queryType: 'kpi',
      adhocFilters: [
        { key: 'team', operator: '=', value: 'core' },
        { key: 'label:env', operator: 'in', value: ['prod', 'staging'] },
      ],
    });
  });

  it('adds the ad hoc filters to sql queries in the sql shape', () => {
    const ds = makeDs();
    const q = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'sql', rawSql: "SELECT 1 WHERE $__adHocFilters('kpi_samples')", format: 'table' },
      {},
      [
        { key: 'team', operator: '=|', value: 'core', values: ['core', 'web'], origin: 'dashboard' },
        { key: 'value', operator: '>', value: '3' },
      ]
    );
    expect(q).toEqual({
      refId: 'A',
      queryType: 'sql',
      rawSql: "SELECT 1 WHERE $__adHocFilters('kpi_samples')",
      format: 'table',
      adhocFilters: [
        { key: 'team', operator: '=|', value: 'core', values: ['core', 'web'] },
        { key: 'value', operator: '>', value: '3' },
      ],
    });
  });

  it('sends no adhocFilters when the dashboard has none', () => {
    const ds = makeDs();
    const sql: SqlQuery = { refId: 'A', queryType: 'sql', rawSql: 'SELECT 1', format: 'table' };
    expect(ds.applyTemplateVariables(sql, {})).not.toHaveProperty('adhocFilters');
    expect(ds.applyTemplateVariables(sql, {}, [])).not.toHaveProperty('adhocFilters');
    const kpi = ds.applyTemplateVariables({ refId: 'A', queryType: 'kpi', metrics: ['m'] } as never, {}, [
      { key: 'team', operator: '>', value: '1' },
    ]);
    expect(kpi).not.toHaveProperty('adhocFilters');
  });

  it("replaces a query's own adhocFilters only when Grafana passes filters", () => {
    const ds = makeDs();
    // An alert rule made from a panel stores the filters; its preview passes none.
    const stored: SqlQuery = {
      refId: 'A',
      queryType: 'sql',
      rawSql: 'SELECT 1',
      format: 'table',
      adhocFilters: [{ key: 'team', operator: '=', value: 'old' }],
    };
    expect(ds.applyTemplateVariables(stored, {})).toMatchObject({ adhocFilters: stored.adhocFilters });
    expect(ds.applyTemplateVariables(stored, {}, [])).not.toHaveProperty('adhocFilters');
    expect(ds.applyTemplateVariables(stored, {}, [{ key: 'team', operator: '=', value: 'new' }])).toMatchObject({
      adhocFilters: [{ key: 'team', operator: '=', value: 'new' }],
    });
    const kpi = ds.applyTemplateVariables(
      {
        refId: 'A',
        queryType: 'kpi',
        metrics: ['m'],
        adhocFilters: [{ key: 'label:env', operator: 'in', value: ['prod'] }],
      } as never,
      {}
    );
    expect(kpi).toMatchObject({ adhocFilters: [{ key: 'label:env', operator: 'in', value: ['prod'] }] });
  });

  it('does not add ad hoc filters to the other query types', () => {
    const ds = makeDs();
    const q = ds.applyTemplateVariables({ refId: 'A', queryType: 'taskflow', view: 'cfd' }, {}, [
      { key: 'team', operator: '=', value: 'core' },
    ]);
    expect(q).not.toHaveProperty('adhocFilters');
  });

  it('offers the dimensions and label keys as ad hoc keys', async () => {
    const ds = makeDs();
    const spy = jest.spyOn(ds, 'getResource').mockResolvedValue(['env', 'team', 'tier']);
    await expect(ds.getTagKeys()).resolves.toEqual(
      ['team', 'project', 'service', 'environment', 'env', 'tier'].map((k) => ({ text: k, value: k }))
    );
    expect(spy).toHaveBeenCalledWith('labels/keys', undefined);
  });

  it('lists ad hoc values from the dimension resources and label values', async () => {
    const ds = makeDs();
    const spy = jest.spyOn(ds, 'getResource').mockResolvedValue(['x']);
    const values = (key: string) => ds.getTagValues({ key, filters: [] });
    await expect(values('team')).resolves.toEqual([{ text: 'x', value: 'x' }]);
    expect(spy).toHaveBeenLastCalledWith('teams', undefined);
    await values('project');
    expect(spy).toHaveBeenLastCalledWith('projects', undefined);
    await values('env');
    expect(spy).toHaveBeenLastCalledWith('labels/values', { key: 'env' });
    await values('label:tier');
    expect(spy).toHaveBeenLastCalledWith('labels/values', { key: 'tier' });
    await values('service');
    expect(spy).toHaveBeenLastCalledWith('services', undefined);
    await values('environment');
    expect(spy).toHaveBeenLastCalledWith('environments', undefined);
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
