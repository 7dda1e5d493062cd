import { AdHocVariableFilter } from '@grafana/data';

import { kpiFilterKey, toKpiAdhocFilters, toSqlAdhocFilters } from './adhoc';

const f = (key: string, operator: string, value: string, values?: string[]): AdHocVariableFilter => ({
  key,
  operator,
  value,
  ...(values ? { values } : {}),
});

describe('kpiFilterKey', () => {
  it('keeps dimensions and label:<k>, turns other label keys into label:<k>', () => {
    expect(kpiFilterKey('team')).toBe('team');
    expect(kpiFilterKey('environment')).toBe('environment');
    expect(kpiFilterKey('source')).toBe('source');
    expect(kpiFilterKey('label:env')).toBe('label:env');
    expect(kpiFilterKey('env')).toBe('label:env');
    expect(kpiFilterKey('app.kubernetes.io/name')).toBe('label:app.kubernetes.io/name');
  });

  it('refuses keys the backend would reject', () => {
    expect(kpiFilterKey('')).toBeUndefined();
    expect(kpiFilterKey('label:')).toBeUndefined();
    expect(kpiFilterKey('has space')).toBeUndefined();
    expect(kpiFilterKey('9lives')).toBeUndefined();
    expect(kpiFilterKey('x'.repeat(129))).toBeUndefined();
  });
});

describe('toKpiAdhocFilters', () => {
  it('maps Grafana operators onto the kpi set', () => {
    expect(
      toKpiAdhocFilters([
        f('team', '=', 'core'),
        f('project', '!=', 'ops'),
        f('service', '=~', 'api-.*'),
        f('environment', '!~', 'dev|test'),
        f('env', '=|', 'prod', ['prod', 'staging']),
        f('label:tier', '!=|', 'free', ['free']),
      ])
    ).toEqual([
      { key: 'team', operator: '=', value: 'core' },
      { key: 'project', operator: '!=', value: 'ops' },
      { key: 'service', operator: '=~', value: 'api-.*' },
      { key: 'environment', operator: '!~', value: 'dev|test' },
      { key: 'label:env', operator: 'in', value: ['prod', 'staging'] },
      { key: 'label:tier', operator: 'not in', value: ['free'] },
    ]);
  });

  it('reads a one-of filter without values as its single value', () => {
    expect(toKpiAdhocFilters([f('team', '=|', 'core')])).toEqual([{ key: 'team', operator: 'in', value: ['core'] }]);
  });

  it('drops, without error, what the kpi model cannot express', () => {
    expect(
      toKpiAdhocFilters([
        f('team', '<', '3'),
        f('team', '>', '3'),
        f('team', '<=', '3'),
        f('team', '>=', '3'),
        f('team', 'like', 'x'),
        f('bad key', '=', 'x'),
      ])
    ).toEqual([]);
  });

  it('sends only key, operator and value', () => {
    const [out] = toKpiAdhocFilters([{ key: 'team', operator: '=', value: 'a', origin: 'dashboard' }]);
    expect(Object.keys(out).sort()).toEqual(['key', 'operator', 'value']);
  });
});

describe('toSqlAdhocFilters', () => {
  it('keeps Grafana operators and sends values only for one-of operators', () => {
    expect(
      toSqlAdhocFilters([
        f('team', '=', 'core'),
        f('kpi_samples.value', '>', '3'),
        f('value', '<=', '10'),
        f('project', '=|', 'web', ['web', 'api']),
        f('service', '!=|', 'a', ['a']),
        f('service', '=', 'b', ['ignored']),
        f('environment', '=~', 'prod.*'),
      ])
    ).toEqual([
      { key: 'team', operator: '=', value: 'core' },
      { key: 'kpi_samples.value', operator: '>', value: '3' },
      { key: 'value', operator: '<=', value: '10' },
      { key: 'project', operator: '=|', value: 'web', values: ['web', 'api'] },
      { key: 'service', operator: '!=|', value: 'a', values: ['a'] },
      { key: 'service', operator: '=', value: 'b' },
      { key: 'environment', operator: '=~', value: 'prod.*' },
    ]);
  });

  it('drops keys that are not columns and unknown operators', () => {
    expect(
      toSqlAdhocFilters([f('label:env', '=', 'prod'), f('a.b.c', '=', 'x'), f('a-b', '=', 'x'), f('team', 'like', 'x')])
    ).toEqual([]);
  });

  it('sends only the four fields the backend allows', () => {
    const [out] = toSqlAdhocFilters([{ key: 'team', operator: '=|', value: 'a', values: ['a'], origin: 'dashboard' }]);
    expect(Object.keys(out).sort()).toEqual(['key', 'operator', 'value', 'values']);
  });
});
