import { createDataFrame, FieldType } from '@grafana/data';

import { HOSTILE_TITLES, makeCfdFrame, makeTasksFrame } from './fixtures';
import { toCfdModel, toTaskflowModel, toTasksModel } from './transform';

describe('toCfdModel', () => {
  it('pivots a long frame and stacks done at the bottom', () => {
    const frame = createDataFrame({
      fields: [
        { name: 'time', type: FieldType.time, values: [2000, 1000, 1000, 2000, 1000, 2000] },
        {
          name: 'state_category',
          type: FieldType.string,
          values: ['todo', 'todo', 'done', 'done', 'in_progress', 'in_progress'],
        },
        { name: 'count', type: FieldType.number, values: [5, 4, 1, 2, 3, 3] },
      ],
    });
    const m = toCfdModel(frame);
    expect(m.times).toEqual([1000, 2000]);
    expect(m.bands.map((b) => b.name)).toEqual(['done', 'in_progress', 'todo']);
    expect(m.bands[0]).toMatchObject({ values: [1, 2], lower: [0, 0], upper: [1, 2] });
    expect(m.bands[1]).toMatchObject({ values: [3, 3], lower: [1, 2], upper: [4, 5] });
    expect(m.bands[2]).toMatchObject({ values: [4, 5], lower: [4, 5], upper: [8, 10] });
    expect(m.maxTotal).toBe(10);
  });

  it('stacks a wide frame with the last (latest) state at the bottom', () => {
    const frame = createDataFrame({
      fields: [
        { name: 'time', type: FieldType.time, values: [1000, 2000] },
        { name: 'Backlog', type: FieldType.number, values: [3, 2] },
        { name: 'Doing', type: FieldType.number, values: [1, 1] },
        { name: 'Done', type: FieldType.number, values: [0, 2] },
      ],
    });
    const m = toCfdModel(frame);
    expect(m.bands.map((b) => b.name)).toEqual(['Done', 'Doing', 'Backlog']);
    expect(m.bands[2].upper).toEqual([4, 5]);
  });

  it('handles a frame without time', () => {
    expect(toCfdModel(createDataFrame({ fields: [] }))).toEqual({ times: [], bands: [], maxTotal: 0 });
  });

  it('stacks the generated fixture consistently', () => {
    const m = toCfdModel(makeCfdFrame(30));
    expect(m.times).toHaveLength(30);
    const top = m.bands[m.bands.length - 1].upper;
    m.bands.forEach((b) => b.values.forEach((v, i) => expect(b.upper[i] - b.lower[i]).toBe(v)));
    expect(Math.max(...top)).toBe(m.maxTotal);
  });
});

describe('toTasksModel', () => {
  it('flags open tasks older than the threshold and sorts oldest first', () => {
    const frame = createDataFrame({
      fields: [
        { name: 'task_id', type: FieldType.string, values: ['a', 'b', 'c', 'd'] },
        { name: 'title', type: FieldType.string, values: ['A', 'B', 'C', 'D'] },
        { name: 'state', type: FieldType.string, values: ['Doing', 'Doing', 'Done', 'Todo'] },
        { name: 'state_category', type: FieldType.string, values: ['in_progress', 'in_progress', 'done', 'todo'] },
        { name: 'assignee', type: FieldType.string, values: ['x', '', 'y', null] },
        { name: 'age_days', type: FieldType.number, values: [3, 20, 99, 15] },
        { name: 'team', type: FieldType.string, values: ['t', 't', 't', 't'] },
        { name: 'project', type: FieldType.string, values: ['p', 'p', 'p', 'p'] },
      ],
    });
    const m = toTasksModel(frame, 14);
    expect(m.rows.map((r) => r.taskId)).toEqual(['b', 'd', 'a', 'c']);
    expect(m.rows.filter((r) => r.aging).map((r) => r.taskId)).toEqual(['b', 'd']);
    expect(m.agingCount).toBe(2);
    expect(m.wip).toEqual([
      { state: 'Todo', category: 'todo', count: 1, aging: 1 },
      { state: 'Doing', category: 'in_progress', count: 2, aging: 1 },
    ]);
    expect(m.maxWip).toBe(2);
  });

  it('keeps hostile titles as plain strings', () => {
    const m = toTasksModel(makeTasksFrame(10), 14);
    expect(
      m.rows
        .slice(0, 3)
        .map((r) => r.title)
        .sort()
    ).toEqual([...HOSTILE_TITLES].sort());
  });

  it('models 50,000 tasks', () => {
    const m = toTasksModel(makeTasksFrame(50_000), 14);
    expect(m.rows).toHaveLength(50_000);
    expect(m.wip.reduce((n, w) => n + w.count, 0)).toBeLessThanOrEqual(50_000);
  });
});

describe('toTaskflowModel', () => {
  it('finds the cfd and tasks frames by shape', () => {
    const m = toTaskflowModel([makeTasksFrame(5), makeCfdFrame(5)], 14);
    expect(m.cfd?.times).toHaveLength(5);
    expect(m.tasks?.rows).toHaveLength(5);
  });

  it("lists the backend's tasks view with ages from its aging view (seconds)", () => {
    const tasks = createDataFrame({
      name: 'tasks',
      fields: [
        { name: 'task_id', type: FieldType.string, values: ['T-1', 'T-2', 'T-3'] },
        { name: 'title', type: FieldType.string, values: ['a', 'b', 'c'] },
        { name: 'state', type: FieldType.string, values: ['In Progress', 'In Progress', 'Done'] },
        { name: 'state_category', type: FieldType.string, values: ['in_progress', 'in_progress', 'done'] },
      ],
    });
    const aging = createDataFrame({
      name: 'aging',
      fields: [
        { name: 'task_id', type: FieldType.string, values: ['T-2', 'T-1'] },
        { name: 'age', type: FieldType.number, values: [20 * 86400, 86400] },
      ],
    });
    const m = toTaskflowModel([aging, tasks], 14);
    expect(m.tasks?.rows.map((r) => [r.taskId, r.ageDays, r.aging])).toEqual([
      ['T-2', 20, true],
      ['T-1', 1, false],
      ['T-3', 0, false],
    ]);
    expect(m.tasks?.agingCount).toBe(1);
  });
});
