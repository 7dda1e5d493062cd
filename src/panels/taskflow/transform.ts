import { DataFrame, Field, FieldType } from '@grafana/data';

import { LIVE_EVENTS_FRAME } from '../../types/live';

/**
 * Pure transforms from the backend's taskflow frames to render models. No React, no theme.
 *
 * Input frames:
 * - cfd, long: [time, state_category (or state) string, a number field] one row per time and state
 * - cfd, wide: [time, one number field per state]
 * - tasks: [task_id, title, state, state_category, assignee, team, project], optionally `age`
 *   (seconds). The backend's `tasks` view has no age; its `aging` view has `age` in seconds (and
 *   no state_category). With both, ages are joined onto the tasks by task_id.
 */

export type StateCategory = 'todo' | 'in_progress' | 'done';
const CATEGORY_RANK: Record<string, number> = { done: 0, in_progress: 1, todo: 2 };

/**
 * The cumulative flow as one wide frame: a time field, then one number field per state, bottom
 * of the stack first (done, in_progress, todo), rows sorted by time. Fields keep the config
 * Grafana gave them (units, decimals, thresholds, overrides), so the chart formats as any panel.
 */
export type CfdFrame = DataFrame;

export interface TaskRow {
  taskId: string;
  title: string;
  state: string;
  category: string;
  assignee: string;
  /** Age in seconds (the backend's `age`), undefined when not known. */
  ageSeconds?: number;
  team: string;
  project: string;
  aging: boolean;
}

export interface WipState {
  state: string;
  category: string;
  count: number;
  aging: number;
}

export interface TasksModel {
  /** Open tasks first, oldest first; done tasks last. */
  rows: TaskRow[];
  wip: WipState[];
  agingCount: number;
  maxWip: number;
  /** The field the ages came from: its config (unit, decimals, thresholds) formats them. */
  ageField?: Field;
}

export const fieldByName = (frame: DataFrame, ...names: string[]): Field | undefined =>
  frame.fields.find((f) => names.includes(f.name.toLowerCase()));

const timeField = (frame: DataFrame) =>
  frame.fields.find((f) => f.type === FieldType.time) ?? fieldByName(frame, 'time', 'ts');

export const toMillis = (v: unknown): number => {
  if (typeof v === 'number') {
    return v;
  }
  if (v instanceof Date) {
    return v.getTime();
  }
  if (typeof v === 'string') {
    const n = Date.parse(v);
    return Number.isNaN(n) ? NaN : n;
  }
  return NaN;
};

const toNumber = (v: unknown): number => (typeof v === 'number' ? v : v === null || v === undefined ? NaN : Number(v));
export const toText = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** The frame a live taskflow query streams new task events into (see live.ts). */
export const isEventsFrame = (frame: DataFrame) => frame.name === LIVE_EVENTS_FRAME;
export const isTasksFrame = (frame: DataFrame) => !isEventsFrame(frame) && Boolean(fieldByName(frame, 'task_id'));
export const isCfdFrame = (frame: DataFrame) =>
  !isEventsFrame(frame) && !isTasksFrame(frame) && Boolean(timeField(frame));

/** Stack order: categories done → in_progress → todo from the bottom; other states bottom-up in reverse field order. */
function stackOrder(fields: Field[]): Field[] {
  if (fields.every((f) => f.name in CATEGORY_RANK)) {
    return [...fields].sort((a, b) => CATEGORY_RANK[a.name] - CATEGORY_RANK[b.name]);
  }
  return [...fields].reverse();
}

/**
 * Turns a cfd frame into a CfdFrame. Wide frames (the backend's `time, todo, in_progress, done`)
 * keep their fields; long ones (time, state_category or state, a count) are pivoted, each state's
 * field taking the count field's config. Undefined for a frame without time.
 */
export function toCfdFrame(frame: DataFrame): CfdFrame | undefined {
  const time = timeField(frame);
  if (!time) {
    return undefined;
  }
  const category = fieldByName(frame, 'state_category', 'state', 'category');
  const numbers = frame.fields.filter((f) => f !== time && f.type === FieldType.number);

  if (category && category.type === FieldType.string) {
    const value = numbers[0];
    const times = [
      ...new Set(
        Array.from({ length: frame.length }, (_, i) => toMillis(time.values[i])).filter((t) => Number.isFinite(t))
      ),
    ].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const columns = new Map<string, number[]>();
    for (let i = 0; i < frame.length; i++) {
      const at = index.get(toMillis(time.values[i]));
      if (at === undefined) {
        continue;
      }
      const name = toText(category.values[i]);
      let col = columns.get(name);
      if (!col) {
        col = new Array<number>(times.length).fill(0);
        columns.set(name, col);
      }
      // Without a count field each row counts one.
      const v = value ? toNumber(value.values[i]) : 1;
      col[at] += Number.isFinite(v) ? v : 0;
    }
    const fields: Field[] = [...columns].map(([name, values]) => ({
      name,
      type: FieldType.number,
      config: { ...value?.config },
      values,
    }));
    return {
      name: frame.name,
      refId: frame.refId,
      length: times.length,
      fields: [{ ...time, type: FieldType.time, values: times }, ...stackOrder(fields)],
    };
  }

  const order = Array.from({ length: frame.length }, (_, i) => i)
    .filter((i) => Number.isFinite(toMillis(time.values[i])))
    .sort((a, b) => toMillis(time.values[a]) - toMillis(time.values[b]));
  const pick = (f: Field, values: unknown[]): Field => ({ ...f, values, state: undefined });
  return {
    name: frame.name,
    refId: frame.refId,
    length: order.length,
    fields: [
      pick({ ...time, type: FieldType.time }, order.map((i) => toMillis(time.values[i]))),
      ...stackOrder(numbers).map((f) => pick(f, order.map((i) => toNumber(f.values[i])))),
    ],
  };
}

export const SECONDS_PER_DAY = 86400;

/** The backend's `age` field (seconds), when the frame has one. */
const ageField = (frame: DataFrame) => fieldByName(frame, 'age');

/** Ages in seconds by task_id from a frame that has them (the backend's aging view). */
export function agesByTask(frame: DataFrame): Map<string, number> {
  const id = fieldByName(frame, 'task_id');
  const out = new Map<string, number>();
  ageField(frame)?.values.forEach((v, i) => {
    const a = toNumber(v);
    if (Number.isFinite(a)) {
      out.set(toText(id?.values[i]), a);
    }
  });
  return out;
}

/**
 * Rows and WIP per state from a tasks frame; a task is aging when open and older than the threshold.
 * Ages come from the frame's own `age` field or, by task_id, from `ages` (the aging view's);
 * `agingFrom` is the field they came from, whose config formats them.
 */
export function toTasksModel(
  frame: DataFrame,
  agingThresholdDays: number,
  ages?: { byTask: Map<string, number>; field: Field }
): TasksModel {
  const get = (...names: string[]) => fieldByName(frame, ...names);
  const id = get('task_id');
  const title = get('title');
  const state = get('state');
  const category = get('state_category');
  const assignee = get('assignee');
  const own = ageField(frame);
  const team = get('team');
  const project = get('project');
  const n = frame.length;
  const threshold = agingThresholdDays * SECONDS_PER_DAY;

  const rows: TaskRow[] = new Array(n);
  const wipByState = new Map<string, WipState>();
  let agingCount = 0;
  for (let i = 0; i < n; i++) {
    const cat = toText(category?.values[i]);
    const st = toText(state?.values[i]) || cat;
    const age = own ? toNumber(own.values[i]) : (ages?.byTask.get(toText(id?.values[i])) ?? NaN);
    const open = cat !== 'done';
    const aging = open && Number.isFinite(age) && age > threshold;
    rows[i] = {
      taskId: toText(id?.values[i]),
      title: toText(title?.values[i]),
      state: st,
      category: cat,
      assignee: toText(assignee?.values[i]),
      ageSeconds: Number.isFinite(age) ? age : undefined,
      team: toText(team?.values[i]),
      project: toText(project?.values[i]),
      aging,
    };
    if (open) {
      let w = wipByState.get(st);
      if (!w) {
        w = { state: st, category: cat, count: 0, aging: 0 };
        wipByState.set(st, w);
      }
      w.count++;
      if (aging) {
        w.aging++;
        agingCount++;
      }
    }
  }
  rows.sort((a, b) => {
    const doneA = a.category === 'done' ? 1 : 0;
    const doneB = b.category === 'done' ? 1 : 0;
    return doneA - doneB || (b.ageSeconds ?? -1) - (a.ageSeconds ?? -1) || a.taskId.localeCompare(b.taskId);
  });
  const wip = [...wipByState.values()].sort(
    (a, b) => (CATEGORY_RANK[b.category] ?? 3) - (CATEGORY_RANK[a.category] ?? 3) || b.count - a.count
  );
  return {
    rows,
    wip,
    agingCount,
    maxWip: wip.reduce((m, w) => Math.max(m, w.count), 0),
    ageField: own ?? ages?.field,
  };
}

export interface TaskflowModel {
  cfd?: CfdFrame;
  tasks?: TasksModel;
}

/**
 * Picks the cfd and tasks frames out of a panel's series. Of several task frames, the one with
 * state categories (the tasks view) is listed; the others (the aging view) lend their ages.
 */
export function toTaskflowModel(frames: DataFrame[], agingThresholdDays: number): TaskflowModel {
  const taskFrames = frames.filter(isTasksFrame);
  const tasksFrame = taskFrames.find((f) => fieldByName(f, 'state_category')) ?? taskFrames[0];
  const agingFrame = taskFrames.find((f) => f !== tasksFrame && ageField(f));
  const ages = agingFrame && { byTask: agesByTask(agingFrame), field: ageField(agingFrame)! };
  const cfdFrame = frames.find(isCfdFrame);
  return {
    cfd: cfdFrame ? toCfdFrame(cfdFrame) : undefined,
    tasks: tasksFrame ? toTasksModel(tasksFrame, agingThresholdDays, ages) : undefined,
  };
}
