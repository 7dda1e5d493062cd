import { ScopedVars } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

/*
 * `$__conditionalAll(condition, $var)` is expanded by the Go backend (pkg/query/macros.go): 1=1
 * when the second argument is `$__all`, empty or a bare variable reference, else the condition.
 * Grafana's templateSrv.replace would turn an All selection into the list of all values, which
 * the backend cannot tell from a real selection. So before interpolating, the second argument of
 * each such macro whose variable selects All becomes `$__all`; the backend decides the rest.
 */

/** Grafana's value of an All selection. */
export const ALL_VALUE = '$__all';

const MACRO = '$__conditionalAll';

/** A whole variable reference: $var, ${var}, ${var:format}, [[var]], [[var:format]]. */
const VAR_REF_RE = /^(?:\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\])$/;

const WRAPPERS: Record<string, string> = { "'": "'", '"': '"', '(': ')', '{': '}' };

function isAllValue(v: unknown): boolean {
  return v === ALL_VALUE || (Array.isArray(v) && v.includes(ALL_VALUE));
}

/**
 * Whether variable `name` selects All for this query. A value in scopedVars (a repeated panel,
 * legacy dashboards) decides. Otherwise the dashboard variable must be on All, and the query must
 * see the dashboard's value: a repeated panel in a Scenes dashboard narrows the variable through
 * scopedVars.__sceneObject, visible only as a different interpolation.
 */
export function variableSelectsAll(srv: TemplateSrv, name: string, scopedVars: ScopedVars): boolean {
  const scoped = Object.prototype.hasOwnProperty.call(scopedVars, name) ? scopedVars[name] : undefined;
  if (scoped) {
    return isAllValue(scoped.value);
  }
  const variable = srv.getVariables().find((v) => v.name === name);
  if (!variable || !('current' in variable) || !isAllValue(variable.current.value)) {
    return false;
  }
  const ref = `\${${name}:raw}`;
  return srv.replace(ref, scopedVars) === srv.replace(ref, {});
}

interface Span {
  start: number;
  end: number;
}

/**
 * The argument spans of the parenthesised list opening at sql[open], split at top-level commas,
 * with nested parentheses and quoted strings respected as the backend does (splitMacroArgs).
 * Undefined when the list is not closed.
 */
function macroArgs(sql: string, open: number): Span[] | undefined {
  const args: Span[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      const end = closingQuote(sql, i);
      if (end < 0) {
        return undefined;
      }
      i = end;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
      if (depth === 0) {
        args.push({ start, end: i });
        return args;
      }
    } else if (c === ',' && depth === 1) {
      args.push({ start, end: i });
      start = i + 1;
    }
  }
  return undefined;
}

/** The index of the quote closing the one at sql[i] (backslash escapes, doubled quotes), or -1. */
function closingQuote(sql: string, i: number): number {
  const q = sql[i];
  for (let k = i + 1; k < sql.length; k++) {
    if (sql[k] === '\\') {
      k++;
    } else if (sql[k] === q) {
      if (sql[k + 1] === q) {
        k++;
        continue;
      }
      return k;
    }
  }
  return -1;
}

/** The span of the variable reference an argument holds, inside blanks, quotes and brackets. */
function variableRef(sql: string, arg: Span): { span: Span; name: string } | undefined {
  let { start, end } = arg;
  for (;;) {
    while (start < end && /\s/.test(sql[start])) {
      start++;
    }
    while (end > start && /\s/.test(sql[end - 1])) {
      end--;
    }
    const close = WRAPPERS[sql[start]];
    if (end - start >= 2 && close !== undefined && sql[end - 1] === close) {
      start++;
      end--;
      continue;
    }
    break;
  }
  const m = VAR_REF_RE.exec(sql.slice(start, end));
  const name = m?.[1] ?? m?.[2] ?? m?.[3];
  return name === undefined ? undefined : { span: { start, end }, name };
}

/**
 * Rewrites `$__conditionalAll(cond, $var)` so that the second argument is `$__all` when $var
 * selects All (see variableSelectsAll); everything else is left for interpolation. Macros nested
 * in the condition are handled too.
 */
export function markConditionalAll(sql: string, srv: TemplateSrv, scopedVars: ScopedVars): string {
  const edits: Span[] = [];
  let from = 0;
  for (let at = sql.indexOf(MACRO, from); at >= 0; at = sql.indexOf(MACRO, from)) {
    const open = at + MACRO.length;
    from = open;
    if (sql[open] !== '(') {
      continue;
    }
    const args = macroArgs(sql, open);
    // Only a single reference as the second argument; a list is already a selection.
    if (!args || args.length !== 2) {
      continue;
    }
    const ref = variableRef(sql, args[1]);
    if (ref && variableSelectsAll(srv, ref.name, scopedVars)) {
      edits.push(ref.span);
    }
  }
  // A macro nested in a condition is found after the macro around it but lies before its
  // variable: apply from the end of the text.
  edits.sort((a, b) => b.start - a.start);
  let out = sql;
  for (const e of edits) {
    out = out.slice(0, e.start) + ALL_VALUE + out.slice(e.end);
  }
  return out;
}
