import schemaJson from '../../types/sql-editor.json';

/**
 * Completion for the raw SQL editor, as plain functions (no Monaco), so jest tests them directly.
 *
 * What it completes comes from src/types/sql-editor.json, which a Go test (TestEditorSQLSchema in
 * pkg/plugin) generates from the backend's own macro list and store description: the editor
 * offers exactly the macros the backend expands and the tables and columns it creates.
 */

export interface SqlMacro {
  /** With the $__ prefix. */
  name: string;
  /** Argument names; empty for a macro used without parentheses; a last name ending in ... repeats. */
  args: string[];
  doc: string;
}

export interface SqlColumn {
  name: string;
  type: string;
}

export interface SqlTable {
  name: string;
  kind: string;
  columns: SqlColumn[];
}

export interface SqlSchema {
  macros: SqlMacro[];
  tables: SqlTable[];
}

export const sqlSchema: SqlSchema = { macros: schemaJson.macros, tables: schemaJson.tables };

export type SqlCompletionKind = 'macro' | 'variable' | 'table' | 'column';

export interface SqlCompletion {
  label: string;
  kind: SqlCompletionKind;
  /** Monaco snippet syntax when `snippet` is true, plain text otherwise. */
  insertText: string;
  snippet: boolean;
  detail: string;
  documentation?: string;
}

export interface SqlCompletionResult {
  /** The text being typed at the cursor, which a chosen item replaces. */
  word: string;
  items: SqlCompletion[];
}

/** A macro as written with its argument names, e.g. `$__timeFilter(col)`. */
export function macroSignature(m: SqlMacro): string {
  return m.args.length === 0 ? m.name : `${m.name}(${m.args.join(', ')})`;
}

/** Escapes text for a Monaco snippet, where $, } and \ are special. */
function snippetText(s: string): string {
  return s.replace(/[\\$}]/g, (c) => `\\${c}`);
}

/** The macro as a snippet whose arguments are tab stops. */
export function macroSnippet(m: SqlMacro): string {
  if (m.args.length === 0) {
    return snippetText(m.name);
  }
  const stops = m.args.map((a, i) => `\${${i + 1}:${snippetText(a.replace(/\.\.\.$/, ''))}}`);
  return `${snippetText(m.name)}(${stops.join(', ')})`;
}

/** The identifier (or macro, or variable) being typed at the end of `before`. */
export function currentWord(before: string): string {
  return /[$\w]*$/.exec(before)?.[0] ?? '';
}

const KEYWORDS_BEFORE_ALIAS = new Set([
  'where',
  'prewhere',
  'group',
  'order',
  'limit',
  'final',
  'sample',
  'array',
  'left',
  'right',
  'inner',
  'outer',
  'full',
  'cross',
  'any',
  'all',
  'join',
  'on',
  'using',
  'settings',
  'format',
  'union',
  'having',
  'global',
]);

/**
 * Tables named after FROM or JOIN, by their name and by their alias (`FROM kpi_samples AS k`,
 * `JOIN tasks_current t`). A database prefix (`kpiflow.kpi_samples`) is ignored.
 */
export function referencedTables(sql: string, schema: SqlSchema): Map<string, SqlTable> {
  const byName = new Map(schema.tables.map((t) => [t.name.toLowerCase(), t]));
  const out = new Map<string, SqlTable>();
  // The alias is read ahead without consuming it: it may be the next JOIN.
  const re = /\b(?:from|join)\s+(?:`?\w+`?\.)?`?(\w+)`?(?=(?:\s+(?:as\s+)?(\w+))?)/gi;
  for (const m of sql.matchAll(re)) {
    const table = byName.get(m[1].toLowerCase());
    if (!table) {
      continue;
    }
    out.set(table.name.toLowerCase(), table);
    const alias = m[2];
    if (alias && !KEYWORDS_BEFORE_ALIAS.has(alias.toLowerCase())) {
      out.set(alias.toLowerCase(), table);
    }
  }
  return out;
}

function macroItems(schema: SqlSchema): SqlCompletion[] {
  return schema.macros.map((m) => ({
    label: m.name,
    kind: 'macro',
    insertText: macroSnippet(m),
    snippet: true,
    detail: macroSignature(m),
    documentation: m.doc,
  }));
}

function variableItems(variables: readonly string[]): SqlCompletion[] {
  return variables.map((v) => ({
    label: `$${v}`,
    kind: 'variable',
    insertText: `$${v}`,
    snippet: false,
    detail: 'dashboard variable',
  }));
}

function tableItems(schema: SqlSchema): SqlCompletion[] {
  return schema.tables.map((t) => ({
    label: t.name,
    kind: 'table',
    insertText: t.name,
    snippet: false,
    detail: `${t.kind} table`,
    documentation: t.columns.map((c) => `${c.name} ${c.type}`).join('\n'),
  }));
}

function columnItems(tables: Iterable<SqlTable>): SqlCompletion[] {
  // A column several tables have (team, ts, ...) is offered once, naming the tables.
  const byName = new Map<string, { type: string; tables: string[] }>();
  for (const t of tables) {
    for (const c of t.columns) {
      const entry = byName.get(c.name) ?? { type: c.type, tables: [] };
      entry.tables.push(t.name);
      byName.set(c.name, entry);
    }
  }
  return [...byName].map(([name, { type, tables: owners }]) => ({
    label: name,
    kind: 'column',
    insertText: name,
    snippet: false,
    detail: `${type} · ${owners.join(', ')}`,
  }));
}

/**
 * What to offer at `offset` in `sql`:
 * - while typing `$…`: the macros, then the dashboard's variables;
 * - after `name.`: the columns of that table or alias;
 * - after FROM or JOIN: the tables;
 * - elsewhere: the columns of the tables the query reads (all tables' columns while it names
 *   none), then the tables and the macros.
 */
export function sqlCompletions(
  sql: string,
  offset: number,
  schema: SqlSchema = sqlSchema,
  variables: readonly string[] = []
): SqlCompletionResult {
  const before = sql.slice(0, offset);
  const word = currentWord(before);
  if (word.startsWith('$')) {
    return { word, items: [...macroItems(schema), ...variableItems(variables)] };
  }
  const rest = before.slice(0, before.length - word.length);
  const qualified = /`?(\w+)`?\.$/.exec(rest);
  const tables = referencedTables(sql, schema);
  if (qualified) {
    const table = tables.get(qualified[1].toLowerCase()) ?? schema.tables.find((t) => t.name === qualified[1]);
    return { word, items: table ? columnItems([table]) : [] };
  }
  if (/\b(from|join)\s+$/i.test(rest)) {
    return { word, items: tableItems(schema) };
  }
  const scope = tables.size > 0 ? new Set(tables.values()) : schema.tables;
  return { word, items: [...columnItems(scope), ...tableItems(schema), ...macroItems(schema)] };
}
