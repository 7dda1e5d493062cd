import { DataSourcePlugin } from '@grafana/data';

import { KpiflowJsonData, KpiflowSecureJsonData } from '../types/config';
import { KpiflowQuery } from '../types/query';
import { ConfigEditor } from '../views/ConfigEditor';
import { QueryEditor } from '../views/QueryEditor';
import { DataSource } from './DataSource';

export const plugin = new DataSourcePlugin<DataSource, KpiflowQuery, KpiflowJsonData, KpiflowSecureJsonData>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
