import { createDataFrame, DataFrame, FieldType } from '@grafana/data';

import { HOSTILE_TITLES, makeCfdFrame, makeTasksFrame } from './fixtures';
import { SECONDS_PER_DAY, toCfdFrame, toTaskflowModel, toTasksModel } from './transform';

describe('toCfdFrame', () => {
  const names = (f?: DataFrame) => f?.fields.map((x) => x.name);
  const values = (f: DataFrame | undefined, name: string) => f?.fields.find((x) => x.name === name)?.values;

  it('pivots a long frame, done at the bottom, keeping the count field’s config', () => {
    const frame = createDataFrame({
      fields: [
        { name: 'time', type: FieldType.time, values: [2000, 1000, 1000, 2000, 1000, 2000] },
        {
          name: 'state_category',
          type: FieldType.string,
          values: ['todo', 'todo', 'done', 'done', 'in_progress', 'in_progress'],
        },
        { name: 'count', type: FieldType.number, values: [5, 4, 1, 2, 3, 3], config: { unit: 'short', decimals: 0 } },
      ],
    });
    const f = toCfdFrame(frame);
    expect(names(f)).toEqual(['time', 'done', 'in_progress', 'todo']);
    expect(f?.length).toBe(2);
    expect(values(f, 'time')).toEqual([1000, 2000]);
    expect(values(f, 'done')).toEqual([1, 2]);
    expect(values(f, 'in_progress')).toEqual([3, 3]);
    expect(values(f, 'todo')).toEqual([4, 5]);
    expect(f?.fields[1].config).toEqual({ unit: 'short', decimals: 0 });
  });

  it('sorts a wide frame by time and stacks the last (latest) state at the bottom', () => {
    const frame = createDataFrame({
      fields: [
        { name: 'time', type: FieldType.time, values: [2000, 1000] },
        { name: 'Backlog', type: FieldType.number, values: [2, 3] },
        { name: 'Doing', type: FieldType.number, values: [1, 1], config: { unit: 'none' } },
        { name: 'Done', type: FieldType.number, values: [2, 0] },
      ],
    });
    const f = toCfdFrame(frame);
    expect(names(f)).toEqual(['time', 'Done', 'Doing', 'Backlog']);
    expect(values(f, 'time')).toEqual([1000, 2000]);
    expect(values(f, 'Done')).toEqual([0, 2]);
    expect(f?.fields[2].config).toEqual({ unit: 'none' });
  });

  it('orders the backend’s wide frame done, in_progress, todo', () => {
    const frame = createDataFrame({
      fields: [
        { name: 'time', type: FieldType.time, values: [1000] },
        { name: 'todo', type: FieldType.number, values: [3] },
        { name: 'in_progress', type: FieldType.number, values: [2] },
        { name: 'done', type: FieldType.number, values: [1] },
      ],
    });
    expect(names(toCfdFrame(frame))).toEqual(['time', 'done', 'in_progress', 'todo']);
  });

  it('has nothing for a frame without time', () => {
    expect(toCfdFrame(createDataFrame({ fields: [] }))).toBeUndefined();
  });

  it('pivots the generated fixture to one row per day', () => {
    const f = toCfdFrame(makeCfdFrame(30));
    expect(f?.length).toBe(30);
    expect(names(f)).toEqual(['time', 'done', 'in_progress', 'todo']);
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
        { name: 'age', type: FieldType.number, values: [3, 20, 99, 15].map((d) => d * SECONDS_PER_DAY) },
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
    expect(m.cfd?.length).toBe(5);
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
    expect(m.tasks?.rows.map((r) => [r.taskId, r.ageSeconds, r.aging])).toEqual([
      ['T-2', 20 * 86400, true],
      ['T-1', 86400, false],
      ['T-3', undefined, false],
    ]);
    expect(m.tasks?.agingCount).toBe(1);
    // The ages are formatted with the aging view's age field config.
    expect(m.tasks?.ageField).toBe(aging.fields[1]);
  });
});
