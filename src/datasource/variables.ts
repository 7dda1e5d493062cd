import { CustomVariableSupport, DataQueryRequest, DataQueryResponse } from '@grafana/data';
import { from, map, Observable } from 'rxjs';

import { KpiflowVariableQuery } from '../types/variables';
import { VariableQueryEditor } from '../views/VariableQueryEditor';
import type { DataSource } from './DataSource';

/** Dashboard variables of this data source: values come from the resource endpoints. */
export class KpiflowVariableSupport extends CustomVariableSupport<DataSource, KpiflowVariableQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  query(request: DataQueryRequest<KpiflowVariableQuery>): Observable<DataQueryResponse> {
    const target = request.targets[0];
    if (!target) {
      return from([{ data: [] }]);
    }
    return from(this.datasource.metricFindQuery(target, { scopedVars: request.scopedVars })).pipe(
      map((values) => ({ data: values }))
    );
  }
}
