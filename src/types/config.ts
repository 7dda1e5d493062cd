import { DataSourceJsonData, DataSourceSettings } from '@grafana/data';
import editorSchema from './sql-editor.json';

/**
 * Settings of the kpiflow ClickHouse data source, as stored in Grafana and parsed by the Go backend
 * (pkg/settings). Numbers are JSON numbers, never strings.
 */

export type Protocol = 'native' | 'http';
export type IngestRole = 'Viewer' | 'Editor' | 'Admin';

/** One ClickHouse session setting sent with every query, e.g. {setting: 'max_threads', value: '4'}. */
export interface CustomSetting {
  setting: string;
  value: string;
}

export interface KpiflowJsonData extends DataSourceJsonData {
  /** ClickHouse server host name or address. Required. */
  host: string;
  /** 1..65535; see defaultPort. */
  port?: number;
  protocol?: Protocol;
  database?: string;
  username?: string;
  /** TLS on. */
  secure?: boolean;
  tlsSkipVerify?: boolean;
  tlsAuthWithCACert?: boolean;
  /** TLS client certificate authentication. */
  tlsAuth?: boolean;
  /** Seconds. */
  dialTimeout?: number;
  /** Seconds. */
  queryTimeout?: number;
  maxRows?: number;
  customSettings?: CustomSetting[];
  /** Apply schema migrations when the data source starts. */
  autoMigrate?: boolean;
  /** Cluster name for ON CLUSTER DDL; empty means single server. */
  cluster?: string;
  /** Lowest Grafana role allowed to push to the ingest API. */
  ingestRole?: IngestRole;
  /** Table name -> days to keep. */
  retentionDays?: Record<string, number>;
}

export interface KpiflowSecureJsonData {
  password?: string;
  tlsCACert?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
}

export type SecureField = keyof KpiflowSecureJsonData;

export type KpiflowSettings = DataSourceSettings<KpiflowJsonData, KpiflowSecureJsonData>;

export const DEFAULT_DATABASE = 'kpiflow';
export const DEFAULT_USERNAME = 'default';
export const DEFAULT_DIAL_TIMEOUT_S = 10;
export const DEFAULT_QUERY_TIMEOUT_S = 60;
export const DEFAULT_MAX_ROWS = 1_000_000;
export const DEFAULT_INGEST_ROLE: IngestRole = 'Editor';
export const DEFAULT_PROTOCOL: Protocol = 'native';

/**
 * Tables whose retention can be set: the backend's schema.RetentionTables(), generated into
 * sql-editor.json by TestEditorSQLSchema, so the editor never offers a table the settings refuse.
 */
export const RETENTION_TABLES: readonly string[] = editorSchema.retentionTables;

/** The port ClickHouse listens on by default for a protocol, with or without TLS. */
export function defaultPort(protocol: Protocol = DEFAULT_PROTOCOL, secure = false): number {
  if (protocol === 'http') {
    return secure ? 8443 : 8123;
  }
  return secure ? 9440 : 9000;
}

/** jsonData with every default filled in: what the backend will use. */
export function withDefaults(j: Partial<KpiflowJsonData>): KpiflowJsonData {
  const protocol = j.protocol ?? DEFAULT_PROTOCOL;
  const secure = j.secure ?? false;
  return {
    ...j,
    host: j.host ?? '',
    port: j.port ?? defaultPort(protocol, secure),
    protocol,
    database: j.database || DEFAULT_DATABASE,
    username: j.username || DEFAULT_USERNAME,
    secure,
    dialTimeout: j.dialTimeout ?? DEFAULT_DIAL_TIMEOUT_S,
    queryTimeout: j.queryTimeout ?? DEFAULT_QUERY_TIMEOUT_S,
    maxRows: j.maxRows ?? DEFAULT_MAX_ROWS,
    ingestRole: j.ingestRole ?? DEFAULT_INGEST_ROLE,
  };
}

export type ConfigField =
  'host' | 'port' | 'dialTimeout' | 'queryTimeout' | 'maxRows' | 'customSettings' | 'retentionDays';

/** Client-side checks; the backend's Validate() is the authority ("Save & test"). */
export function validateConfig(j: Partial<KpiflowJsonData>): Partial<Record<ConfigField, string>> {
  const errors: Partial<Record<ConfigField, string>> = {};
  if (!j.host || j.host.trim() === '') {
    errors.host = 'Host is required';
  } else if (/\s|^[a-z]+:\/\//i.test(j.host.trim())) {
    errors.host = 'Host is a name or address only, without scheme or spaces';
  }
  if (j.port !== undefined && (!Number.isInteger(j.port) || j.port < 1 || j.port > 65535)) {
    errors.port = 'Port must be a whole number from 1 to 65535';
  }
  if (j.dialTimeout !== undefined && !(Number.isFinite(j.dialTimeout) && j.dialTimeout > 0)) {
    errors.dialTimeout = 'Dial timeout must be a positive number of seconds';
  }
  if (j.queryTimeout !== undefined && !(Number.isFinite(j.queryTimeout) && j.queryTimeout > 0)) {
    errors.queryTimeout = 'Query timeout must be a positive number of seconds';
  }
  if (j.maxRows !== undefined && !(Number.isInteger(j.maxRows) && j.maxRows > 0)) {
    errors.maxRows = 'Max rows must be a positive whole number';
  }
  if (j.customSettings?.some((s) => s.setting.trim() === '' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(s.setting.trim()))) {
    errors.customSettings = 'Every custom setting needs a name made of letters, digits and underscores';
  }
  if (j.retentionDays && Object.values(j.retentionDays).some((d) => !(Number.isInteger(d) && d > 0))) {
    errors.retentionDays = 'Retention must be a positive whole number of days';
  }
  return errors;
}
