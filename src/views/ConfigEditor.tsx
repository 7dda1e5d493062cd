import React, { FormEvent, useMemo } from 'react';
import { css } from '@emotion/css';
import { DataSourcePluginOptionsEditorProps, GrafanaTheme2, SelectableValue } from '@grafana/data';
import {
  Alert,
  Button,
  Field,
  FieldValidationMessage,
  IconButton,
  Input,
  RadioButtonGroup,
  SecretInput,
  SecretTextArea,
  Combobox,
  ComboboxOption,
  Switch,
  useStyles2,
} from '@grafana/ui';

import { selectors } from '../components/selectors';
import {
  CustomSetting,
  DEFAULT_DATABASE,
  DEFAULT_DIAL_TIMEOUT_S,
  DEFAULT_INGEST_ROLE,
  DEFAULT_MAX_ROWS,
  DEFAULT_QUERY_TIMEOUT_S,
  DEFAULT_USERNAME,
  defaultPort,
  IngestRole,
  KpiflowJsonData,
  KpiflowSecureJsonData,
  Protocol,
  RETENTION_TABLES,
  SecureField,
  validateConfig,
} from '../types/config';

export type ConfigEditorProps = DataSourcePluginOptionsEditorProps<KpiflowJsonData, KpiflowSecureJsonData>;

const protocolOptions: Array<SelectableValue<Protocol>> = [
  { label: 'Native', value: 'native', description: 'ClickHouse native TCP protocol (recommended)' },
  { label: 'HTTP', value: 'http', description: 'ClickHouse HTTP interface' },
];

const roleOptions: Array<ComboboxOption<IngestRole>> = [
  { label: 'Viewer', value: 'Viewer' },
  { label: 'Editor', value: 'Editor' },
  { label: 'Admin', value: 'Admin' },
];

const getStyles = (theme: GrafanaTheme2) => ({
  section: css({
    marginBottom: theme.spacing(4),
    maxWidth: 720,
  }),
  heading: css({
    marginBottom: theme.spacing(1),
  }),
  description: css({
    color: theme.colors.text.secondary,
    marginBottom: theme.spacing(2),
  }),
  row: css({
    display: 'flex',
    gap: theme.spacing(1),
    alignItems: 'flex-start',
  }),
  grow: css({
    flex: 1,
  }),
  narrow: css({
    width: 160,
  }),
  pairRow: css({
    display: 'flex',
    gap: theme.spacing(1),
    alignItems: 'center',
    marginBottom: theme.spacing(1),
  }),
  hint: css({
    marginTop: theme.spacing(2),
  }),
});

/** Parses a number input; empty gives undefined so the backend default applies. */
function toNumber(e: FormEvent<HTMLInputElement>): number | undefined {
  const raw = e.currentTarget.value.trim();
  if (raw === '') {
    return undefined;
  }
  const n = Number(raw);
  return Number.isNaN(n) ? undefined : n;
}

export function ConfigEditor({ options, onOptionsChange }: ConfigEditorProps) {
  const styles = useStyles2(getStyles);
  const jsonData: Partial<KpiflowJsonData> = useMemo(() => options.jsonData ?? {}, [options.jsonData]);
  const secureJsonFields = options.secureJsonFields ?? {};
  const secureJsonData: KpiflowSecureJsonData = options.secureJsonData ?? {};
  const errors = useMemo(() => validateConfig(jsonData), [jsonData]);

  const protocol = jsonData.protocol ?? 'native';
  const secure = jsonData.secure ?? false;

  const setJson = <K extends keyof KpiflowJsonData>(key: K, value: KpiflowJsonData[K] | undefined) => {
    const next: KpiflowJsonData = { ...(options.jsonData ?? { host: '' }), [key]: value };
    if (value === undefined) {
      delete next[key];
    }
    onOptionsChange({ ...options, jsonData: next });
  };

  const setSecret = (key: SecureField, value: string) => {
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, [key]: value } });
  };

  const resetSecret = (key: SecureField) => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, [key]: false },
      secureJsonData: { ...secureJsonData, [key]: '' },
    });
  };

  const customSettings: CustomSetting[] = jsonData.customSettings ?? [];
  const setCustomSettings = (next: CustomSetting[]) => setJson('customSettings', next.length ? next : undefined);

  const retention = jsonData.retentionDays ?? {};
  const setRetention = (table: string, days: number | undefined) => {
    const next = { ...retention };
    if (days === undefined) {
      delete next[table];
    } else {
      next[table] = days;
    }
    setJson('retentionDays', Object.keys(next).length ? next : undefined);
  };

  return (
    <>
      <div className={styles.section}>
        <h3 className={styles.heading}>Server</h3>
        <p className={styles.description}>Where the ClickHouse KPI store runs.</p>
        <div className={styles.row}>
          <Field
            className={styles.grow}
            label="Host"
            description="Name or address of the ClickHouse server"
            required
            invalid={Boolean(errors.host)}
            error={errors.host}
          >
            <Input
              data-testid={selectors.config.host}
              value={jsonData.host ?? ''}
              placeholder="clickhouse.example.com"
              onChange={(e) => setJson('host', e.currentTarget.value)}
            />
          </Field>
          <Field
            className={styles.narrow}
            label="Port"
            description={`Default ${defaultPort(protocol, secure)}`}
            invalid={Boolean(errors.port)}
            error={errors.port}
          >
            <Input
              data-testid={selectors.config.port}
              type="number"
              value={jsonData.port ?? ''}
              placeholder={String(defaultPort(protocol, secure))}
              onChange={(e) => setJson('port', toNumber(e))}
            />
          </Field>
        </div>
        <Field label="Protocol" description="Native is faster; HTTP passes through HTTP proxies">
          <RadioButtonGroup<Protocol>
            data-testid={selectors.config.protocol}
            options={protocolOptions}
            value={protocol}
            onChange={(v) => setJson('protocol', v)}
          />
        </Field>
        <Field label="Database" description={`Holds the kpiflow tables; default ${DEFAULT_DATABASE}`}>
          <Input
            data-testid={selectors.config.database}
            value={jsonData.database ?? ''}
            placeholder={DEFAULT_DATABASE}
            onChange={(e) => setJson('database', e.currentTarget.value || undefined)}
          />
        </Field>
        <Field
          label="Cluster"
          description="Cluster name for ON CLUSTER DDL and replicated tables; leave empty for one server"
        >
          <Input
            data-testid={selectors.config.cluster}
            value={jsonData.cluster ?? ''}
            placeholder="(single server)"
            onChange={(e) => setJson('cluster', e.currentTarget.value || undefined)}
          />
        </Field>
      </div>

      <div className={styles.section}>
        <h3 className={styles.heading}>Credentials</h3>
        <Field label="Username" description={`Default ${DEFAULT_USERNAME}`}>
          <Input
            data-testid={selectors.config.username}
            value={jsonData.username ?? ''}
            placeholder={DEFAULT_USERNAME}
            onChange={(e) => setJson('username', e.currentTarget.value || undefined)}
          />
        </Field>
        <Field label="Password">
          <SecretInput
            data-testid={selectors.config.password}
            isConfigured={Boolean(secureJsonFields.password)}
            value={secureJsonData.password ?? ''}
            placeholder="Password"
            onChange={(e) => setSecret('password', e.currentTarget.value)}
            onReset={() => resetSecret('password')}
          />
        </Field>
      </div>

      <div className={styles.section}>
        <h3 className={styles.heading}>TLS</h3>
        <Field label="Secure connection" description="Connect with TLS">
          <Switch
            data-testid={selectors.config.secure}
            value={secure}
            onChange={(e) => setJson('secure', e.currentTarget.checked)}
          />
        </Field>
        {secure && (
          <>
            <Field label="Skip TLS verification" description="Accept any server certificate (testing only)">
              <Switch
                data-testid={selectors.config.tlsSkipVerify}
                value={jsonData.tlsSkipVerify ?? false}
                onChange={(e) => setJson('tlsSkipVerify', e.currentTarget.checked)}
              />
            </Field>
            <Field label="With CA certificate" description="Verify the server against your own CA">
              <Switch
                data-testid={selectors.config.tlsAuthWithCACert}
                value={jsonData.tlsAuthWithCACert ?? false}
                onChange={(e) => setJson('tlsAuthWithCACert', e.currentTarget.checked)}
              />
            </Field>
            {jsonData.tlsAuthWithCACert && (
              <Field label="CA certificate">
                <SecretTextArea
                  isConfigured={Boolean(secureJsonFields.tlsCACert)}
                  value={secureJsonData.tlsCACert ?? ''}
                  placeholder="-----BEGIN CERTIFICATE-----"
                  rows={5}
                  cols={60}
                  onChange={(e) => setSecret('tlsCACert', e.currentTarget.value)}
                  onReset={() => resetSecret('tlsCACert')}
                />
              </Field>
            )}
            <Field label="Client certificate" description="Authenticate with a TLS client certificate">
              <Switch
                data-testid={selectors.config.tlsAuth}
                value={jsonData.tlsAuth ?? false}
                onChange={(e) => setJson('tlsAuth', e.currentTarget.checked)}
              />
            </Field>
            {jsonData.tlsAuth && (
              <>
                <Field label="Client certificate">
                  <SecretTextArea
                    isConfigured={Boolean(secureJsonFields.tlsClientCert)}
                    value={secureJsonData.tlsClientCert ?? ''}
                    placeholder="-----BEGIN CERTIFICATE-----"
                    rows={5}
                    cols={60}
                    onChange={(e) => setSecret('tlsClientCert', e.currentTarget.value)}
                    onReset={() => resetSecret('tlsClientCert')}
                  />
                </Field>
                <Field label="Client key">
                  <SecretTextArea
                    isConfigured={Boolean(secureJsonFields.tlsClientKey)}
                    value={secureJsonData.tlsClientKey ?? ''}
                    placeholder="-----BEGIN PRIVATE KEY-----"
                    rows={5}
                    cols={60}
                    onChange={(e) => setSecret('tlsClientKey', e.currentTarget.value)}
                    onReset={() => resetSecret('tlsClientKey')}
                  />
                </Field>
              </>
            )}
          </>
        )}
      </div>

      <div className={styles.section}>
        <h3 className={styles.heading}>Limits</h3>
        <div className={styles.row}>
          <Field label="Dial timeout (s)" invalid={Boolean(errors.dialTimeout)} error={errors.dialTimeout}>
            <Input
              data-testid={selectors.config.dialTimeout}
              type="number"
              value={jsonData.dialTimeout ?? ''}
              placeholder={String(DEFAULT_DIAL_TIMEOUT_S)}
              onChange={(e) => setJson('dialTimeout', toNumber(e))}
            />
          </Field>
          <Field label="Query timeout (s)" invalid={Boolean(errors.queryTimeout)} error={errors.queryTimeout}>
            <Input
              data-testid={selectors.config.queryTimeout}
              type="number"
              value={jsonData.queryTimeout ?? ''}
              placeholder={String(DEFAULT_QUERY_TIMEOUT_S)}
              onChange={(e) => setJson('queryTimeout', toNumber(e))}
            />
          </Field>
          <Field label="Max rows" invalid={Boolean(errors.maxRows)} error={errors.maxRows}>
            <Input
              data-testid={selectors.config.maxRows}
              type="number"
              value={jsonData.maxRows ?? ''}
              placeholder={String(DEFAULT_MAX_ROWS)}
              onChange={(e) => setJson('maxRows', toNumber(e))}
            />
          </Field>
        </div>
        <Field label="ClickHouse settings" description="Session settings sent with every query, e.g. max_threads = 4">
          <div>
            {errors.customSettings && <FieldValidationMessage>{errors.customSettings}</FieldValidationMessage>}
            {customSettings.map((s, i) => (
              <div className={styles.pairRow} key={i}>
                <Input
                  data-testid={selectors.config.customSettingName}
                  aria-label={`Setting ${i + 1} name`}
                  value={s.setting}
                  placeholder="setting"
                  onChange={(e) =>
                    setCustomSettings(
                      customSettings.map((c, j) => (j === i ? { ...c, setting: e.currentTarget.value } : c))
                    )
                  }
                />
                <Input
                  data-testid={selectors.config.customSettingValue}
                  aria-label={`Setting ${i + 1} value`}
                  value={s.value}
                  placeholder="value"
                  onChange={(e) =>
                    setCustomSettings(
                      customSettings.map((c, j) => (j === i ? { ...c, value: e.currentTarget.value } : c))
                    )
                  }
                />
                <IconButton
                  name="trash-alt"
                  tooltip="Remove setting"
                  onClick={() => setCustomSettings(customSettings.filter((_, j) => j !== i))}
                />
              </div>
            ))}
            <Button
              data-testid={selectors.config.customSettingAdd}
              variant="secondary"
              size="sm"
              icon="plus"
              onClick={() => setCustomSettings([...customSettings, { setting: '', value: '' }])}
            >
              Add setting
            </Button>
          </div>
        </Field>
      </div>

      <div className={styles.section}>
        <h3 className={styles.heading}>Schema, ingest and retention</h3>
        <Field
          label="Apply migrations on start"
          description="Create and upgrade the kpiflow tables when the data source starts"
        >
          <Switch
            data-testid={selectors.config.autoMigrate}
            value={jsonData.autoMigrate ?? false}
            onChange={(e) => setJson('autoMigrate', e.currentTarget.checked)}
          />
        </Field>
        <Field label="Ingest role" description="Lowest Grafana role allowed to push data through the ingest API">
          <Combobox<IngestRole>
            data-testid={selectors.config.ingestRole}
            id={selectors.config.ingestRole}
            width={20}
            options={roleOptions}
            value={jsonData.ingestRole ?? DEFAULT_INGEST_ROLE}
            onChange={(v) => setJson('ingestRole', v.value)}
          />
        </Field>
        <Field label="Retention (days)" description="Rows older than this are dropped; empty keeps them">
          <div>
            {errors.retentionDays && <FieldValidationMessage>{errors.retentionDays}</FieldValidationMessage>}
            {RETENTION_TABLES.map((table) => (
              <div className={styles.pairRow} key={table}>
                <code className={styles.grow}>{table}</code>
                <Input
                  data-testid={selectors.config.retentionTable(table)}
                  aria-label={`Retention of ${table} in days`}
                  type="number"
                  width={16}
                  value={retention[table] ?? ''}
                  placeholder="keep"
                  onChange={(e) => setRetention(table, toNumber(e))}
                />
              </div>
            ))}
          </div>
        </Field>
      </div>

      <Alert
        className={styles.hint}
        data-testid={selectors.config.saveAndTestHint}
        severity="info"
        title="Check the connection with Save & test"
      >
        The checks above are only local. Save &amp; test asks the backend to connect to ClickHouse, report its version
        and whether the kpiflow schema is up to date.
      </Alert>
    </>
  );
}
