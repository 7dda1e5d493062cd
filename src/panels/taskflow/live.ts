import { DataFrame, Field, FieldType } from '@grafana/data';

import { fieldByName, isCfdFrame, isEventsFrame, isTasksFrame, toMillis, toText } from './transform';

/**
 * Live task flow: a taskflow query with `live: true` answers a first frame `events` that Grafana Live
 * appends each new task event to (the backend's channel, see the README's "Live queries"). These pure
 * functions replay those events onto the view frames of the same answer, so a task that moves shows
 * in the cumulative flow, WIP and aging views without a refresh.
 *
 * Replaying is idempotent: an event older than what a frame already shows for its task changes
 * nothing, so events that are both in the query's snapshot and in the stream count once.
 */

const DAY_MS = 86_400_000;

export interface TaskEvent {
  ts: number;
  taskId: string;
  title: string;
  state: string;
  category: string;
  assignee: string;
  team: string;
  project: string;
}

/** The events of every events frame, oldest first (stable for equal times). */
export function readEvents(frames: DataFrame[]): TaskEvent[] {
  const out: TaskEvent[] = [];
  for (const f of frames.filter(isEventsFrame)) {
    const get = (name: string) => fieldByName(f, name);
    const [ts, id, title, state, cat, assignee, team, project] = [
      'ts',
      'task_id',
      'title',
      'state',
      'state_category',
      'assignee',
      'team',
      'project',
    ].map(get);
    for (let i = 0; i < f.length; i++) {
      const t = toMillis(ts?.values[i]);
      if (!Number.isFinite(t) || !id) {
        continue;
      }
      out.push({
        ts: t,
        taskId: toText(id.values[i]),
        title: toText(title?.values[i]),
        state: toText(state?.values[i]),
        category: toText(cat?.values[i]),
        assignee: toText(assignee?.values[i]),
        team: toText(team?.values[i]),
        project: toText(project?.values[i]),
      });
    }
  }
  return out
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.ts - b.e.ts || a.i - b.i)
    .map(({ e }) => e);
}

/** A task changing state category at a time (from is undefined for a task not seen before). */
interface Move {
  ts: number;
  from?: string;
  to: string;
}

const copyField = (f: Field, values: unknown[]): Field => ({ ...f, values, state: undefined });

/**
 * Folds the events into the tasks frame (one row per task, its latest state: a newer event
 * replaces the row, a new task adds one) and returns the frame and the category moves.
 * Without a tasks frame, categories known from earlier events stand in.
 */
function applyToTasks(frame: DataFrame | undefined, events: TaskEvent[]): { frame?: DataFrame; moves: Move[] } {
  const moves: Move[] = [];
  if (!frame) {
    const seen = new Map<string, string>();
    for (const e of events) {
      const from = seen.get(e.taskId);
      if (from !== e.category) {
        moves.push({ ts: e.ts, from, to: e.category });
      }
      seen.set(e.taskId, e.category);
    }
    return { moves };
  }
  const columns = frame.fields.map((f) => [...f.values]);
  const col = (name: string) => frame.fields.findIndex((f) => f.name.toLowerCase() === name);
  const idx = {
    id: col('task_id'),
    ts: col('ts'),
    title: col('title'),
    state: col('state'),
    category: col('state_category'),
    assignee: col('assignee'),
    team: col('team'),
    project: col('project'),
  };
  const rowOf = new Map<string, number>();
  columns[idx.id].forEach((v, i) => rowOf.set(toText(v), i));
  let length = frame.length;
  for (const e of events) {
    let row = rowOf.get(e.taskId);
    let from: string | undefined;
    if (row === undefined) {
      row = length++;
      rowOf.set(e.taskId, row);
      columns.forEach((c) => c.push(null));
      columns[idx.id][row] = e.taskId;
    } else {
      if (idx.ts >= 0 && toMillis(columns[idx.ts][row]) > e.ts) {
        continue;
      }
      from = idx.category >= 0 ? toText(columns[idx.category][row]) : undefined;
    }
    const set = (i: number, v: unknown) => {
      if (i >= 0) {
        columns[i][row!] = v;
      }
    };
    set(idx.ts, e.ts);
    set(idx.title, e.title);
    set(idx.state, e.state);
    set(idx.category, e.category);
    set(idx.assignee, e.assignee);
    set(idx.team, e.team);
    set(idx.project, e.project);
    if (from !== e.category) {
      moves.push({ ts: e.ts, from, to: e.category });
    }
  }
  return { frame: { ...frame, length, fields: frame.fields.map((f, i) => copyField(f, columns[i])) }, moves };
}

/**
 * Moves the cumulative flow (a wide frame: time per UTC day, a count per category): from the day
 * of each move on, the task counts in its new category instead of its old one. A move after the
 * last day adds days, carrying the last day's counts.
 */
function applyToCfd(frame: DataFrame, moves: Move[]): DataFrame {
  const time = frame.fields.find((f) => f.type === FieldType.time);
  if (!time || moves.length === 0) {
    return frame;
  }
  const times = time.values.map(toMillis);
  const counts = frame.fields.map((f) => (f === time ? [] : f.values.map((v) => (typeof v === 'number' ? v : 0))));
  const byName = new Map(frame.fields.map((f, i) => [f.name, i]));
  for (const m of moves) {
    const day = Math.floor(m.ts / DAY_MS) * DAY_MS;
    while (times.length > 0 && day > times[times.length - 1]) {
      times.push(times[times.length - 1] + DAY_MS);
      counts.forEach((c, i) => i !== frame.fields.indexOf(time) && c.push(c[c.length - 1] ?? 0));
    }
    times.forEach((t, k) => {
      if (t < day) {
        return;
      }
      const from = m.from !== undefined ? byName.get(m.from) : undefined;
      const to = byName.get(m.to);
      if (from !== undefined) {
        counts[from][k] -= 1;
      }
      if (to !== undefined) {
        counts[to][k] += 1;
      }
    });
  }
  return {
    ...frame,
    length: times.length,
    fields: frame.fields.map((f, i) => copyField(f, f === time ? times : counts[i])),
  };
}

/** Adds an age (seconds to now) to the aging frame for tasks that moved into progress without one. */
function applyToAging(frame: DataFrame, events: TaskEvent[], now: number): DataFrame {
  const id = fieldByName(frame, 'task_id');
  const age = fieldByName(frame, 'age');
  if (!id || !age) {
    return frame;
  }
  const known = new Set(id.values.map(toText));
  const added = events.filter((e) => e.category === 'in_progress' && !known.has(e.taskId) && known.add(e.taskId));
  if (added.length === 0) {
    return frame;
  }
  return {
    ...frame,
    length: frame.length + added.length,
    fields: frame.fields.map((f) => {
      const extra = added.map((e) =>
        f === id ? e.taskId : f === age ? Math.max(0, (now - e.ts) / 1000) : f.name === 'title' ? e.title : null
      );
      return copyField(f, [...f.values, ...extra]);
    }),
  };
}

/**
 * Replays the live events frame of a panel's series onto its other frames and drops it: the tasks
 * frame (tasks view) takes each task's latest state, the cumulative flow moves the task between
 * categories from the event's day on, and the aging frame learns tasks that started, aged up to
 * `asOf` (ms: the query's range end) or the newest event, whichever is later.
 */
export function applyTaskEvents(frames: DataFrame[], asOf: number): DataFrame[] {
  const events = readEvents(frames);
  const rest = frames.filter((f) => !isEventsFrame(f));
  if (events.length === 0) {
    return rest;
  }
  const now = Math.max(asOf, events[events.length - 1].ts);
  const tasks = rest.filter(isTasksFrame);
  const tasksFrame = tasks.find((f) => fieldByName(f, 'state_category'));
  const { frame: newTasks, moves } = applyToTasks(tasksFrame, events);
  return rest.map((f) => {
    if (f === tasksFrame && newTasks) {
      return newTasks;
    }
    if (isCfdFrame(f) && !fieldByName(f, 'state_category', 'state', 'category')) {
      return applyToCfd(f, moves);
    }
    if (tasks.includes(f) && f !== tasksFrame) {
      return applyToAging(f, events, now);
    }
    return f;
  });
}
