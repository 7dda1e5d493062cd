import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';

import { selectors } from '../components/selectors';
import { KpiflowSettings } from '../types/config';
import { ConfigEditor } from './ConfigEditor';

function settings(jsonData: Partial<KpiflowSettings['jsonData']> = {}, secureJsonFields = {}): KpiflowSettings {
  return {
    id: 1,
    uid: 'ds',
    orgId: 1,
    name: 'kpiflow',
    type: 'kpiflow-clickhouse-datasource',
    typeName: 'kpiflow',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    readOnly: false,
    withCredentials: false,
    jsonData: { host: '', ...jsonData },
    secureJsonFields,
    secureJsonData: {},
  };
}

describe('ConfigEditor', () => {
  it('says the host is required and points to Save & test', () => {
    render(<ConfigEditor options={settings()} onOptionsChange={jest.fn()} />);
    expect(screen.getByText('Host is required')).toBeInTheDocument();
    expect(screen.getByTestId(selectors.config.saveAndTestHint)).toHaveTextContent('Save & test');
  });

  it('stores the port as a JSON number', () => {
    const onChange = jest.fn();
    render(<ConfigEditor options={settings({ host: 'ch' })} onOptionsChange={onChange} />);
    fireEvent.change(screen.getByTestId(selectors.config.port), { target: { value: '9440' } });
    const next: KpiflowSettings = onChange.mock.calls[0][0];
    expect(next.jsonData.port).toBe(9440);
    expect(typeof next.jsonData.port).toBe('number');
  });

  it('shows range and timeout errors', () => {
    render(
      <ConfigEditor options={settings({ host: 'ch', port: 70000, queryTimeout: 0 })} onOptionsChange={jest.fn()} />
    );
    expect(screen.getByText('Port must be a whole number from 1 to 65535')).toBeInTheDocument();
    expect(screen.getByText('Query timeout must be a positive number of seconds')).toBeInTheDocument();
    expect(screen.queryByText('Host is required')).not.toBeInTheDocument();
  });

  it('suggests the default port of the protocol and TLS', () => {
    render(
      <ConfigEditor options={settings({ host: 'ch', protocol: 'http', secure: true })} onOptionsChange={jest.fn()} />
    );
    expect(screen.getByTestId(selectors.config.port)).toHaveAttribute('placeholder', '8443');
  });

  it('resets a configured password', () => {
    const onChange = jest.fn();
    render(<ConfigEditor options={settings({ host: 'ch' }, { password: true })} onOptionsChange={onChange} />);
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    const next: KpiflowSettings = onChange.mock.calls[0][0];
    expect(next.secureJsonFields.password).toBe(false);
    expect(next.secureJsonData?.password).toBe('');
  });

  it('adds a ClickHouse session setting', () => {
    const onChange = jest.fn();
    render(<ConfigEditor options={settings({ host: 'ch' })} onOptionsChange={onChange} />);
    fireEvent.click(screen.getByTestId(selectors.config.customSettingAdd));
    expect(onChange.mock.calls[0][0].jsonData.customSettings).toEqual([{ setting: '', value: '' }]);
  });

  it('stores retention days per table as numbers', () => {
    const onChange = jest.fn();
    render(<ConfigEditor options={settings({ host: 'ch' })} onOptionsChange={onChange} />);
    fireEvent.change(screen.getByTestId(selectors.config.retentionTable('kpi_samples')), { target: { value: '30' } });
    expect(onChange.mock.calls[0][0].jsonData.retentionDays).toEqual({ kpi_samples: 30 });
  });
});
