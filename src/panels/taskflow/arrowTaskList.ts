import { DataFrame, QueryResultMetaNotice } from '@grafana/data';

/**
 * The task-flow panel's Arrow path: a task list read through the data source's `POST arrow` resource
 * (README, "Arrow IPC") and decoded with apache-arrow (arrowDecode.ts, loaded only when a panel reads
 * Arrow) into Grafana data frames, so a large list skips Grafana's JSON frames. The fetching is in
 * useArrowTaskList.
 */

/**
 * Above this many tasks the panel suggests reading the list as Arrow (when Grafana's answer holds
 * more; see TaskListNotice): where JSON frames start to cost a visible fraction of a second to parse
 * and process. docs/benchmarks.md, "Arrow IPC to panels", has what Arrow saves today (not yet the target).
 */
export const ARROW_TASK_THRESHOLD = 5000;

/** The media type of POST arrow's answer. */
export const ARROW_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

/** What an Arrow answer decodes to: one frame per IPC stream, and the notices of their metadata. */
export interface ArrowAnswer {
  frames: DataFrame[];
  /** Warning and error notices of any stream (a cut result's, a module's). Info notices are left out. */
  notices: QueryResultMetaNotice[];
}

/** An Arrow answer the panel cannot use, with a message for the panel. */
export class ArrowAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArrowAnswerError';
  }
}

/** The message of a POST arrow answer that is not 200/204: the backend's JSON `{error}`, or the status. */
export function arrowHTTPError(status: number, body: unknown): ArrowAnswerError {
  let parsed: unknown = body;
  if (ArrayBuffer.isView(body) || Object.prototype.toString.call(body) === '[object ArrayBuffer]') {
    try {
      parsed = JSON.parse(new TextDecoder().decode(body as ArrayBuffer | ArrayBufferView));
    } catch {
      parsed = undefined; // not JSON: the status says enough
    }
  }
  const text = parsed && typeof parsed === 'object' && 'error' in parsed ? String(parsed.error) : '';
  return new ArrowAnswerError(`Reading the task list as Arrow failed (HTTP ${status})${text ? `: ${text}` : ''}`);
}
