import { defaultPort, validateConfig, withDefaults } from './config';

describe('config', () => {
  it('default ports', () => {
    expect(defaultPort('native', false)).toBe(9000);
    expect(defaultPort('http', false)).toBe(8123);
    expect(defaultPort('native', true)).toBe(9440);
    expect(defaultPort('http', true)).toBe(8443);
  });

  it('fills defaults', () => {
    expect(withDefaults({ host: 'ch' })).toMatchObject({
      port: 9000,
      protocol: 'native',
      database: 'kpiflow',
      username: 'default',
      dialTimeout: 10,
      queryTimeout: 60,
      maxRows: 1000000,
      ingestRole: 'Editor',
    });
  });

  it('validates', () => {
    expect(validateConfig({ host: 'ch', port: 9000 })).toEqual({});
    expect(validateConfig({ host: 'http://ch' }).host).toBeDefined();
    expect(validateConfig({ host: 'ch', port: 0 }).port).toBeDefined();
    expect(validateConfig({ host: 'ch', dialTimeout: -1 }).dialTimeout).toBeDefined();
    expect(
      validateConfig({ host: 'ch', customSettings: [{ setting: 'bad name', value: '1' }] }).customSettings
    ).toBeDefined();
    expect(validateConfig({ host: 'ch', retentionDays: { kpi_samples: 0 } }).retentionDays).toBeDefined();
  });
});
