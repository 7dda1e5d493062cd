import { createDataFrame, DataFrame, FieldType } from '@grafana/data';

import { applyTaskEvents, readEvents } from './live';
import { toTaskflowModel } from './transform';

const DAY = 86_400_000;
const D0 = Date.UTC(2025, 4, 1);

const values = (f: DataFrame | undefined, name: string) => f?.fields.find((x) => x.name === name)?.values;

function events(rows: Array<[number, string, string, string]>): DataFrame {
  return createDataFrame({
    name: 'events',
    fields: [
      { name: 'ts', type: FieldType.time, values: rows.map((r) => r[0]) },
      { name: 'task_id', type: FieldType.string, values: rows.map((r) => r[1]) },
      { name: 'title', type: FieldType.string, values: rows.map((r) => `Task ${r[1]}`) },
      { name: 'state', type: FieldType.string, values: rows.map((r) => r[2]) },
      { name: 'state_category', type: FieldType.string, values: rows.map((r) => r[3]) },
      { name: 'event_id', type: FieldType.string, values: rows.map((_, i) => `e${i}`) },
    ],
  });
}

const tasks = () =>
  createDataFrame({
    name: '',
    fields: [
      { name: 'task_id', type: FieldType.string, values: ['A', 'B'] },
      { name: 'title', type: FieldType.string, values: ['Task A', 'Task B'] },
      { name: 'state', type: FieldType.string, values: ['Backlog', 'Doing'] },
      { name: 'state_category', type: FieldType.string, values: ['todo', 'in_progress'] },
      { name: 'ts', type: FieldType.time, values: [D0, D0 + DAY] },
    ],
  });

const cfd = () =>
  createDataFrame({
    name: 'cfd',
    fields: [
      { name: 'time', type: FieldType.time, values: [D0, D0 + DAY, D0 + 2 * DAY] },
      { name: 'todo', type: FieldType.number, values: [2, 1, 1] },
      { name: 'in_progress', type: FieldType.number, values: [0, 1, 1] },
      { name: 'done', type: FieldType.number, values: [0, 0, 0] },
    ],
  });

const aging = () =>
  createDataFrame({
    name: '',
    fields: [
      { name: 'task_id', type: FieldType.string, values: ['B'] },
      { name: 'title', type: FieldType.string, values: ['Task B'] },
      { name: 'age', type: FieldType.number, values: [3600], config: { unit: 's' } },
    ],
  });

describe('applyTaskEvents', () => {
  it('leaves frames without events as they are, minus the empty events frame', () => {
    const frames = [events([]), tasks(), cfd()];
    expect(applyTaskEvents(frames, D0)).toEqual([frames[1], frames[2]]);
  });

  it('moves a task in the task list, the WIP, the cumulative flow and aging', () => {
    const now = D0 + 2 * DAY + 7200_000;
    const out = applyTaskEvents(
      [events([[D0 + 2 * DAY + 3600_000, 'A', 'Doing', 'in_progress']]), tasks(), cfd(), aging()],
      now
    );
    expect(out).toHaveLength(3);
    expect(values(out[0], 'state_category')).toEqual(['in_progress', 'in_progress']);
    expect(values(out[0], 'state')).toEqual(['Doing', 'Doing']);
    // The task moves from todo to in_progress on the third day, not before.
    expect(values(out[1], 'todo')).toEqual([2, 1, 0]);
    expect(values(out[1], 'in_progress')).toEqual([0, 1, 2]);
    // A started task without an age gets one, from its event to now.
    expect(values(out[2], 'task_id')).toEqual(['B', 'A']);
    expect(values(out[2], 'age')).toEqual([3600, 3600]);

    const model = toTaskflowModel(out, 14);
    expect(model.tasks?.wip).toEqual([{ state: 'Doing', category: 'in_progress', count: 2, aging: 0 }]);
    expect(model.cfd?.length).toBe(3);
  });

  it('adds new tasks and new days, carrying the last day forward', () => {
    const out = applyTaskEvents([events([[D0 + 4 * DAY, 'C', 'Backlog', 'todo']]), tasks(), cfd()], D0 + 4 * DAY);
    expect(values(out[0], 'task_id')).toEqual(['A', 'B', 'C']);
    expect(values(out[1], 'time')).toEqual([D0, D0 + DAY, D0 + 2 * DAY, D0 + 3 * DAY, D0 + 4 * DAY]);
    expect(values(out[1], 'todo')).toEqual([2, 1, 1, 1, 2]);
    expect(values(out[1], 'in_progress')).toEqual([0, 1, 1, 1, 1]);
  });

  it('is idempotent: events the snapshot already shows, or seen twice, count once', () => {
    const stale = [D0 + DAY - 1, 'B', 'Doing', 'in_progress'] as [number, string, string, string];
    const move = [D0 + 2 * DAY, 'B', 'Done', 'done'] as [number, string, string, string];
    const out = applyTaskEvents([events([stale, move, move]), tasks(), cfd()], D0 + 3 * DAY);
    expect(values(out[0], 'state_category')).toEqual(['todo', 'done']);
    expect(values(out[1], 'in_progress')).toEqual([0, 1, 0]);
    expect(values(out[1], 'done')).toEqual([0, 0, 1]);
  });

  it('reads events in time order whatever order they arrived in', () => {
    const ev = readEvents([events([[D0 + 2, 'A', 's', 'done'], [D0 + 1, 'A', 's', 'todo']])]);
    expect(ev.map((e) => e.category)).toEqual(['todo', 'done']);
  });
});
