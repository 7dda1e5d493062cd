import { DataFrame, Field, FieldType } from '@grafana/data';

/**
 * Pure transforms from the backend's taskflow frames to render models. No React, no theme.
 *
 * Input frames:
 * - cfd, long: [time, state_category (or state) string, a number field] one row per time and state
 * - cfd, wide: [time, one number field per state]
 * - tasks: [task_id, title, state, state_category, assignee, age_days, team, project]
 *   The backend's `tasks` view has no age; its `aging` view has `age` in seconds (and no
 *   state_category). With both, ages are joined onto the tasks by task_id.
 */

export type StateCategory = 'todo' | 'in_progress' | 'done';
const CATEGORY_RANK: Record<string, number> = { done: 0, in_progress: 1, todo: 2 };

export interface CfdBand {
  /** State or state category name. */
  name: string;
  /** Count per time. */
  values: number[];
  /** Stacked bounds per time (lower = sum of the bands below). */
  lower: number[];
  upper: number[];
}

export interface CfdModel {
  times: number[];
  /** Bottom band first (done at the bottom, as a CFD is read). */
  bands: CfdBand[];
  maxTotal: number;
}

export interface TaskRow {
  taskId: string;
  title: string;
  state: string;
  category: string;
  assignee: string;
  ageDays: number;
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
}

const fieldByName = (frame: DataFrame, ...names: string[]): Field | undefined =>
  frame.fields.find((f) => names.includes(f.name.toLowerCase()));

const timeField = (frame: DataFrame) =>
  frame.fields.find((f) => f.type === FieldType.time) ?? fieldByName(frame, 'time', 'ts');

const toMillis = (v: unknown): number => {
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
const toText = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

export const isTasksFrame = (frame: DataFrame) => Boolean(fieldByName(frame, 'task_id'));
export const isCfdFrame = (frame: DataFrame) => !isTasksFrame(frame) && Boolean(timeField(frame));

/** Stack order: categories done → in_progress → todo from the bottom; other states bottom-up in reverse field order. */
function orderNames(names: string[]): string[] {
  if (names.every((n) => n in CATEGORY_RANK)) {
    return [...names].sort((a, b) => CATEGORY_RANK[a] - CATEGORY_RANK[b]);
  }
  return [...names].reverse();
}

function stack(times: number[], columns: Map<string, number[]>): CfdModel {
  const names = orderNames([...columns.keys()]);
  const running = new Array<number>(times.length).fill(0);
  const bands: CfdBand[] = names.map((name) => {
    const values = columns.get(name) ?? [];
    const lower = running.slice();
    for (let i = 0; i < times.length; i++) {
      const v = values[i];
      running[i] += Number.isFinite(v) ? v : 0;
    }
    return { name, values, lower, upper: running.slice() };
  });
  return { times, bands, maxTotal: running.reduce((m, v) => Math.max(m, v), 0) };
}

/** Turns a cfd frame (long or wide) into stacked bands over sorted times. */
export function toCfdModel(frame: DataFrame): CfdModel {
  const time = timeField(frame);
  if (!time) {
    return { times: [], bands: [], maxTotal: 0 };
  }
  const category = fieldByName(frame, 'state_category', 'state', 'category');
  const numbers = frame.fields.filter((f) => f !== time && f.type === FieldType.number);

  if (category && category.type === FieldType.string) {
    // Long: pivot (time, state) -> count.
    const value = numbers[0];
    const timeIndex = new Map<number, number>();
    const columns = new Map<string, number[]>();
    const rows: Array<[number, string, number]> = [];
    for (let i = 0; i < frame.length; i++) {
      const t = toMillis(time.values[i]);
      if (!Number.isFinite(t)) {
        continue;
      }
      const name = toText(category.values[i]);
      rows.push([t, name, value ? toNumber(value.values[i]) : 1]);
      timeIndex.set(t, 0);
      if (!columns.has(name)) {
        columns.set(name, []);
      }
    }
    const times = [...timeIndex.keys()].sort((a, b) => a - b);
    times.forEach((t, i) => timeIndex.set(t, i));
    for (const col of columns.values()) {
      col.length = times.length;
      col.fill(0);
    }
    for (const [t, name, v] of rows) {
      const col = columns.get(name);
      const idx = timeIndex.get(t);
      if (col && idx !== undefined && Number.isFinite(v)) {
        // A value with no numeric field counts rows.
        col[idx] += v;
      }
    }
    return stack(times, columns);
  }

  // Wide: one numeric field per state, rows in time order (sorted here to be safe).
  const order = Array.from({ length: frame.length }, (_, i) => i)
    .filter((i) => Number.isFinite(toMillis(time.values[i])))
    .sort((a, b) => toMillis(time.values[a]) - toMillis(time.values[b]));
  const times = order.map((i) => toMillis(time.values[i]));
  const columns = new Map<string, number[]>();
  for (const f of numbers) {
    const name = f.config.displayNameFromDS ?? f.config.displayName ?? f.labels?.state ?? f.name;
    columns.set(
      name,
      order.map((i) => toNumber(f.values[i]))
    );
  }
  return stack(times, columns);
}

const SECONDS_PER_DAY = 86400;

/** Age in days per row: `age_days`, or the backend's `age` in seconds. */
function agesInDays(frame: DataFrame): Array<number | undefined> {
  const days = fieldByName(frame, 'age_days');
  if (days) {
    return days.values.map((v) => toNumber(v));
  }
  const seconds = fieldByName(frame, 'age');
  return seconds ? seconds.values.map((v) => toNumber(v) / SECONDS_PER_DAY) : [];
}

/** Ages by task_id from a frame that has them (the backend's aging view). */
export function agesByTask(frame: DataFrame): Map<string, number> {
  const id = fieldByName(frame, 'task_id');
  const ages = agesInDays(frame);
  const out = new Map<string, number>();
  ages.forEach((a, i) => {
    if (a !== undefined && Number.isFinite(a)) {
      out.set(toText(id?.values[i]), a);
    }
  });
  return out;
}

/**
 * Rows and WIP per state from a tasks frame; a task is aging when open and older than the threshold.
 * `ages` supplies ages by task_id where the frame itself has none.
 */
export function toTasksModel(frame: DataFrame, agingThresholdDays: number, ages?: Map<string, number>): TasksModel {
  const get = (...names: string[]) => fieldByName(frame, ...names);
  const id = get('task_id');
  const title = get('title');
  const state = get('state');
  const category = get('state_category');
  const assignee = get('assignee');
  const ownAges = agesInDays(frame);
  const team = get('team');
  const project = get('project');
  const n = frame.length;

  const rows: TaskRow[] = new Array(n);
  const wipByState = new Map<string, WipState>();
  let agingCount = 0;
  for (let i = 0; i < n; i++) {
    const cat = toText(category?.values[i]);
    const st = toText(state?.values[i]) || cat;
    const ageDays = ownAges[i] ?? ages?.get(toText(id?.values[i])) ?? NaN;
    const open = cat !== 'done';
    const aging = open && Number.isFinite(ageDays) && ageDays > agingThresholdDays;
    rows[i] = {
      taskId: toText(id?.values[i]),
      title: toText(title?.values[i]),
      state: st,
      category: cat,
      assignee: toText(assignee?.values[i]),
      ageDays: Number.isFinite(ageDays) ? ageDays : 0,
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
    return doneA - doneB || b.ageDays - a.ageDays || a.taskId.localeCompare(b.taskId);
  });
  const wip = [...wipByState.values()].sort(
    (a, b) => (CATEGORY_RANK[b.category] ?? 3) - (CATEGORY_RANK[a.category] ?? 3) || b.count - a.count
  );
  return { rows, wip, agingCount, maxWip: wip.reduce((m, w) => Math.max(m, w.count), 0) };
}

export interface TaskflowModel {
  cfd?: CfdModel;
  tasks?: TasksModel;
}

/**
 * Picks the cfd and tasks frames out of a panel's series. Of several task frames, the one with
 * state categories (the tasks view) is listed; the others (the aging view) lend their ages.
 */
export function toTaskflowModel(frames: DataFrame[], agingThresholdDays: number): TaskflowModel {
  const taskFrames = frames.filter(isTasksFrame);
  const tasksFrame = taskFrames.find((f) => fieldByName(f, 'state_category')) ?? taskFrames[0];
  const ages = new Map<string, number>();
  taskFrames.filter((f) => f !== tasksFrame).forEach((f) => agesByTask(f).forEach((a, id) => ages.set(id, a)));
  const cfdFrame = frames.find(isCfdFrame);
  return {
    cfd: cfdFrame ? toCfdModel(cfdFrame) : undefined,
    tasks: tasksFrame ? toTasksModel(tasksFrame, agingThresholdDays, ages) : undefined,
  };
}
