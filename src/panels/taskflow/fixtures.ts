import { createDataFrame, DataFrame, FieldType } from '@grafana/data';

/**
 * Generated taskflow frames in the backend's shapes, for tests and the browser harness, until the
 * Go backend writes tests/fixtures/taskflow.json.
 */

/** Small deterministic PRNG (mulberry32) so fixtures are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
export const FIXTURE_END = Date.UTC(2025, 4, 30);

/** Long cfd frame: one row per day and state category, counts cumulative-flow style. */
export function makeCfdFrame(days = 60, seed = 7): DataFrame {
  const r = rng(seed);
  const time: number[] = [];
  const cat: string[] = [];
  const count: number[] = [];
  let done = 40;
  let inProgress = 12;
  let todo = 80;
  for (let d = days - 1; d >= 0; d--) {
    const t = FIXTURE_END - d * DAY;
    const arrived = Math.floor(r() * 5);
    const started = Math.min(todo, Math.floor(r() * 5));
    const finished = Math.min(inProgress, Math.floor(r() * 5));
    todo += arrived - started;
    inProgress += started - finished;
    done += finished;
    for (const [c, v] of [
      ['todo', todo],
      ['in_progress', inProgress],
      ['done', done],
    ] as const) {
      time.push(t);
      cat.push(c);
      count.push(v);
    }
  }
  return createDataFrame({
    refId: 'cfd',
    name: 'cfd',
    fields: [
      { name: 'time', type: FieldType.time, values: time },
      { name: 'state_category', type: FieldType.string, values: cat },
      { name: 'count', type: FieldType.number, values: count },
    ],
  });
}

const STATES: Array<[string, string]> = [
  ['Backlog', 'todo'],
  ['Ready', 'todo'],
  ['In progress', 'in_progress'],
  ['Review', 'in_progress'],
  ['Testing', 'in_progress'],
  ['Done', 'done'],
];
const PEOPLE = ['ana', 'bo', 'chen', 'dita', 'eli', ''];
const TEAMS = ['platform', 'payments', 'mobile'];

/** Titles that must render as literal text, never as markup. */
export const HOSTILE_TITLES = [
  '<script>window.__pwned = 1</script>Fix login',
  '<b>bold</b> claim',
  '<img src=x onerror="window.__pwned=1">',
];

/** Tasks frame with n tasks; the first ones carry HOSTILE_TITLES and are the oldest open tasks. */
export function makeTasksFrame(n = 200, seed = 11): DataFrame {
  const r = rng(seed);
  const ids: string[] = [];
  const titles: string[] = [];
  const states: string[] = [];
  const cats: string[] = [];
  const assignees: string[] = [];
  const ages: number[] = [];
  const teams: string[] = [];
  const projects: string[] = [];
  for (let i = 0; i < n; i++) {
    const hostile = i < HOSTILE_TITLES.length;
    const [state, cat] = hostile ? STATES[2 + (i % 2)] : STATES[Math.floor(r() * STATES.length)];
    ids.push(`KPI-${i + 1}`);
    titles.push(
      hostile
        ? HOSTILE_TITLES[i]
        : `Task ${i + 1}: ${['improve', 'fix', 'add', 'remove'][i % 4]} ${['cache', 'retry', 'report', 'alert'][Math.floor(r() * 4)]}`
    );
    states.push(state);
    cats.push(cat);
    assignees.push(PEOPLE[Math.floor(r() * PEOPLE.length)]);
    // Seconds, as the backend's aging view gives them.
    ages.push((hostile ? 400 + i : Math.round(r() * r() * 60 * 10) / 10) * 86400);
    teams.push(TEAMS[i % TEAMS.length]);
    projects.push(`proj-${1 + (i % 4)}`);
  }
  return createDataFrame({
    refId: 'tasks',
    name: 'tasks',
    fields: [
      { name: 'task_id', type: FieldType.string, values: ids },
      { name: 'title', type: FieldType.string, values: titles },
      { name: 'state', type: FieldType.string, values: states },
      { name: 'state_category', type: FieldType.string, values: cats },
      { name: 'assignee', type: FieldType.string, values: assignees },
      { name: 'age', type: FieldType.number, values: ages },
      { name: 'team', type: FieldType.string, values: teams },
      { name: 'project', type: FieldType.string, values: projects },
    ],
  });
}
