import fs from 'fs';
import path from 'path';

import { AdHocVariableFilter, DataSourceInstanceSettings } from '@grafana/data';

import { KpiflowJsonData } from '../types/config';
import { KpiflowQuery } from '../types/query';
import { DataSource } from './DataSource';
import { fakeTemplateSrv } from './fakeTemplateSrv';

/*
 * src/types/adhoc-example-queries.json holds a kpi and a sql query exactly as applyTemplateVariables
 * sends them to the backend (ad hoc filters, $__conditionalAll with an All variable), so the Go
 * tests can run them through the parser and macros. This test keeps the file equal to what the
 * code produces; UPDATE_FIXTURES=1 npx jest adhocFixture rewrites it.
 */

const mockSrv = fakeTemplateSrv([
  { name: 'team', current: '$__all', options: ['core', 'web'] },
  { name: 'project', current: ['web', 'api'], options: ['web', 'api', 'ops'] },
]);

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => mockSrv,
}));

const jsonPath = path.join(__dirname, '..', 'types', 'adhoc-example-queries.json');

function makeDs() {
  const settings = {
    id: 1,
    uid: 'ds',
    type: 'kpiflow-clickhouse-datasource',
    name: 'kpiflow',
    jsonData: {},
    meta: {},
    readOnly: false,
    access: 'proxy',
  } as unknown as DataSourceInstanceSettings<KpiflowJsonData>;
  return new DataSource(settings);
}

const kpiFilters: AdHocVariableFilter[] = [
  { key: 'team', operator: '=', value: 'core' },
  { key: 'env', operator: '=|', value: 'prod', values: ['prod', 'staging'] },
  { key: 'service', operator: '!~', value: '^legacy-' },
  { key: 'label:tier', operator: '!=|', value: 'free', values: ['free'] },
  // No kpi form: dropped.
  { key: 'team', operator: '>', value: '3' },
];

const sqlFilters: AdHocVariableFilter[] = [
  { key: 'team', operator: '=|', value: 'core', values: ['core', 'web'], origin: 'dashboard' },
  { key: 'kpi_samples.environment', operator: '!=', value: 'dev' },
  { key: 'value', operator: '>', value: '3' },
  { key: 'service', operator: '=~', value: "api-.*'" },
  // Not a column: dropped.
  { key: 'label:env', operator: '=', value: 'prod' },
];

const kpi: KpiflowQuery = {
  refId: 'A',
  queryType: 'kpi',
  metrics: ['lead_time'],
  aggregation: 'avg',
  groupBy: ['team'],
  filters: [{ key: 'project', operator: 'in', value: ['$project'] }],
  format: 'timeseries',
};

const sql: KpiflowQuery = {
  refId: 'B',
  queryType: 'sql',
  rawSql: [
    'SELECT $__timeInterval(ts) AS time, team, avg(value) AS avg_value',
    'FROM kpi_samples',
    'WHERE $__timeFilter(ts)',
    '  AND $__conditionalAll(team IN ($team), $team)',
    '  AND $__conditionalAll(project IN ($project), $project)',
    "  AND $__adHocFilters('kpi_samples')",
    'GROUP BY time, team',
    'ORDER BY time',
  ].join('\n'),
  format: 'timeseries',
};

function produce() {
  const ds = makeDs();
  return JSON.parse(
    JSON.stringify({
      kpi: ds.applyTemplateVariables(kpi, {}, kpiFilters),
      sql: ds.applyTemplateVariables(sql, {}, sqlFilters),
    })
  );
}

describe('adhoc-example-queries.json', () => {
  it('equals what applyTemplateVariables sends (the Go tests read the JSON)', () => {
    const produced = produce();
    if (process.env.UPDATE_FIXTURES) {
      fs.writeFileSync(jsonPath, JSON.stringify(produced, null, 2) + '\n');
    }
    const onDisk = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
    expect(onDisk).toEqual(produced);
  });

  it('carries the ad hoc filters and the All marker', () => {
    const { kpi: k, sql: s } = produce();
    expect(k.adhocFilters).toHaveLength(4);
    expect(s.adhocFilters).toHaveLength(4);
    expect(s.rawSql).toContain("$__conditionalAll(team IN ('core','web'), $__all)");
    expect(s.rawSql).toContain("$__conditionalAll(project IN ('web','api'), 'web','api')");
  });
});
