import { useEffect, useState } from 'react';
import { lastValueFrom } from 'rxjs';
import { AdHocVariableFilter, DataFrame, PanelData, QueryResultMetaNotice, ScopedVars } from '@grafana/data';
import { getBackendSrv, getDataSourceSrv, isFetchError } from '@grafana/runtime';
import { DataQuery } from '@grafana/schema';

import type { TaskflowQuery } from '../../types/query';
import { ARROW_CONTENT_TYPE, ArrowAnswerError, arrowHTTPError } from './arrowTaskList';

/** The task list's source: Grafana's frames, or POST arrow (loading, read, or failed). */
export type ArrowTaskList =
  | { state: 'off' }
  | { state: 'loading' }
  | { state: 'done'; frames: DataFrame[]; notices: QueryResultMetaNotice[] }
  | { state: 'error'; message: string };

const isTaskListQuery = (q: DataQuery): q is TaskflowQuery =>
  q.queryType === 'taskflow' && (q as Partial<TaskflowQuery>).view === 'tasks';

/** A data source that expands dashboard variables in a query (DataSourceWithBackend's applyTemplateVariables). */
interface Templating {
  applyTemplateVariables(query: TaskflowQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): TaskflowQuery;
}

const hasTemplating = (ds: object): ds is Templating =>
  'applyTemplateVariables' in ds && typeof ds.applyTemplateVariables === 'function';

/**
 * The panel's task list query that Grafana did not run: a taskflow `tasks` query hidden in the panel
 * (the data source skips hidden queries), which the panel reads through POST arrow instead.
 */
export function arrowTaskListQuery(data: PanelData): TaskflowQuery | undefined {
  return data.request?.targets.find((q): q is TaskflowQuery => isTaskListQuery(q) && q.hide === true);
}

/** The POST arrow body for a query: the query as the backend reads it (shown, not live) and the panel's range. */
export function arrowRequestBody(query: TaskflowQuery, data: PanelData) {
  const { hide: _hide, live: _live, ...rest } = query;
  const range = data.request?.range ?? data.timeRange;
  return {
    query: rest,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    intervalMs: data.request?.intervalMs ?? 0,
    maxDataPoints: data.request?.maxDataPoints ?? 0,
  };
}

/** Reads one query through the data source's POST arrow resource, as Grafana's frontend calls plugin resources. */
async function fetchArrowTaskList(query: TaskflowQuery, data: PanelData): Promise<ArrowTaskList> {
  const scopedVars = data.request?.scopedVars ?? {};
  const ds = await getDataSourceSrv().get(query.datasource, scopedVars);
  const expanded = hasTemplating(ds) ? ds.applyTemplateVariables(query, scopedVars, data.request?.filters) : query;
  try {
    const res = await lastValueFrom(
      getBackendSrv().fetch<ArrayBuffer>({
        url: `/api/datasources/uid/${encodeURIComponent(ds.uid)}/resources/arrow`,
        method: 'POST',
        data: arrowRequestBody(expanded, data),
        headers: { Accept: ARROW_CONTENT_TYPE },
        responseType: 'arraybuffer',
        showErrorAlert: false,
      })
    );
    if (res.status !== 200 && res.status !== 204) {
      throw arrowHTTPError(res.status, res.data);
    }
    // apache-arrow is a chunk of its own, loaded by the first panel that reads Arrow.
    const { decodeArrowAnswer } = await import('./arrowDecode');
    const answer = decodeArrowAnswer(new Uint8Array(res.status === 204 ? new ArrayBuffer(0) : res.data));
    const frames = answer.frames.map((f) => ({ ...f, refId: f.refId ?? query.refId }));
    return { state: 'done', frames, notices: answer.notices };
  } catch (e) {
    if (e instanceof ArrowAnswerError) {
      return { state: 'error', message: e.message };
    }
    if (isFetchError<unknown>(e)) {
      return { state: 'error', message: arrowHTTPError(e.status, e.data).message };
    }
    return {
      state: 'error',
      message: `Reading the task list as Arrow failed: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

/**
 * The task list read through POST arrow when the panel's task list query is hidden (see
 * arrowTaskListQuery); `off` otherwise. Read again for each new request (refresh, range, variables).
 */
export function useArrowTaskList(data: PanelData): ArrowTaskList {
  const query = arrowTaskListQuery(data);
  const key = query
    ? JSON.stringify([
        query,
        data.request?.requestId,
        data.request?.range?.from.valueOf(),
        data.request?.range?.to.valueOf(),
      ])
    : '';
  const [result, setResult] = useState<{ key: string; list: ArrowTaskList }>({ key: '', list: { state: 'off' } });
  useEffect(() => {
    if (!query) {
      return;
    }
    let current = true;
    fetchArrowTaskList(query, data).then((list) => current && setResult({ key, list }));
    return () => {
      current = false;
    };
    // key stands for query and data.request: a new answer of the same request reads nothing again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  if (!query) {
    return { state: 'off' };
  }
  return result.key === key ? result.list : { state: 'loading' };
}
