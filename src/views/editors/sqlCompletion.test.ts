import {
  currentWord,
  macroSignature,
  macroSnippet,
  referencedTables,
  sqlCompletions,
  sqlSchema,
} from './sqlCompletion';

const labels = (sql: string, offset = sql.length, variables: string[] = []) =>
  sqlCompletions(sql, offset, sqlSchema, variables).items.map((i) => i.label);

describe('sqlSchema (generated from the backend by TestEditorSQLSchema)', () => {
  it('has the macros and tables the backend knows', () => {
    const macros = sqlSchema.macros.map((m) => m.name);
    expect(macros).toEqual(expect.arrayContaining(['$__timeFilter', '$__timeInterval', '$__conditionalAll']));
    expect(sqlSchema.tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['kpi_samples', 'kpi_rollup_1h', 'task_events', 'tasks_current', 'deployments'])
    );
    sqlSchema.macros.forEach((m) => expect(m.doc).not.toBe(''));
  });
});

describe('macro text', () => {
  const byName = (name: string) => sqlSchema.macros.find((m) => m.name === name)!;

  it('writes signatures and snippets with tab stops', () => {
    expect(macroSignature(byName('$__timeFilter'))).toBe('$__timeFilter(col)');
    expect(macroSnippet(byName('$__timeFilter'))).toBe('\\$__timeFilter(${1:col})');
    expect(macroSnippet(byName('$__fromTime'))).toBe('\\$__fromTime');
    // The repeated variable argument is one tab stop, its $ escaped.
    expect(macroSnippet(byName('$__conditionalAll'))).toBe('\\$__conditionalAll(${1:condition}, ${2:\\$variable})');
  });
});

describe('currentWord', () => {
  it.each([
    ['SELECT ts', 'ts'],
    ['WHERE $__time', '$__time'],
    ['FROM ', ''],
    ['k.val', 'val'],
  ])('%s → %s', (before, word) => expect(currentWord(before)).toBe(word));
});

describe('referencedTables', () => {
  it('finds tables after FROM and JOIN with their aliases, ignoring a database prefix', () => {
    const t = referencedTables(
      'SELECT * FROM kpiflow.kpi_samples AS k JOIN tasks_current t ON k.team = t.team WHERE 1',
      sqlSchema
    );
    expect([...t.keys()].sort()).toEqual(['k', 'kpi_samples', 't', 'tasks_current']);
  });

  it('does not take a keyword for an alias', () => {
    const t = referencedTables('SELECT * FROM deployments FINAL WHERE 1', sqlSchema);
    expect([...t.keys()]).toEqual(['deployments']);
  });
});

describe('sqlCompletions', () => {
  it('offers macros and dashboard variables while typing $', () => {
    const got = labels('SELECT * FROM kpi_samples WHERE $', undefined, ['team']);
    expect(got).toContain('$__timeFilter');
    expect(got).toContain('$team');
    expect(got).not.toContain('ts');
  });

  it('offers tables after FROM and JOIN', () => {
    expect(labels('SELECT count() FROM ')).toEqual(sqlSchema.tables.map((t) => t.name));
    expect(labels('SELECT * FROM kpi_samples k JOIN task')).toContain('task_events');
  });

  it('offers the columns of a table or alias after a dot', () => {
    const sql = 'SELECT d. FROM deployments AS d';
    expect(labels(sql, 'SELECT d.'.length)).toEqual(
      sqlSchema.tables.find((t) => t.name === 'deployments')!.columns.map((c) => c.name)
    );
    expect(labels('SELECT nope.')).toEqual([]);
  });

  it('offers the queried tables’ columns first, once each', () => {
    const sql = 'SELECT  FROM incidents JOIN deployments ON 1';
    const items = sqlCompletions(sql, 'SELECT '.length).items;
    const team = items.filter((i) => i.label === 'team');
    expect(team).toHaveLength(1);
    expect(team[0].detail).toContain('incidents, deployments');
    expect(items[0].kind).toBe('column');
    expect(items.map((i) => i.label)).not.toContain('metric');
  });

  it('offers every table’s columns while the query names no table', () => {
    expect(labels('SELECT ')).toEqual(expect.arrayContaining(['metric', 'task_id', 'incident_id']));
  });

  it('replaces the word being typed', () => {
    expect(sqlCompletions('SELECT sta', 10).word).toBe('sta');
  });
});
