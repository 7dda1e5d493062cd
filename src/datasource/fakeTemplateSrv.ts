import { ScopedVars, TypedVariableModel } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

/**
 * A small stand-in for Grafana's template service, for tests only: custom variables with a
 * current value (`$__all` for All) and their options. Like Grafana it expands All into every
 * option's value, resolves scopedVars first, and, like a Scenes dashboard, resolves a repeated
 * panel's value through scopedVars.__sceneObject (here `{ value: { locals: { name: value } } }`).
 */
export interface FakeVariable {
  name: string;
  current: string | string[];
  options: string[];
}

const REF_RE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}/g;

type Format = string | ((value: string | string[]) => string) | undefined;

function isLocals(v: unknown): v is { locals: Record<string, string | string[]> } {
  return typeof v === 'object' && v !== null && 'locals' in v;
}

export function fakeTemplateSrv(variables: FakeVariable[]): TemplateSrv {
  const models = variables.map(
    (v) =>
      ({
        type: 'custom',
        name: v.name,
        current: { selected: true, text: v.current, value: v.current },
        options: v.options.map((o) => ({ selected: false, text: o, value: o })),
      }) as unknown as TypedVariableModel
  );
  const lookup = (name: string, scopedVars?: ScopedVars): string | string[] | undefined => {
    const scoped = scopedVars?.[name];
    if (scoped) {
      return scoped.value;
    }
    const scene: unknown = scopedVars?.__sceneObject?.value;
    if (isLocals(scene) && scene.locals[name] !== undefined) {
      return scene.locals[name];
    }
    const v = variables.find((x) => x.name === name);
    if (!v) {
      return undefined;
    }
    const all = v.current === '$__all' || (Array.isArray(v.current) && v.current.includes('$__all'));
    return all ? v.options : v.current;
  };
  const format = (value: string | string[], fmt: Format, refFmt?: string): string => {
    if (typeof fmt === 'function') {
      return fmt(value);
    }
    const f = refFmt ?? fmt;
    if (!Array.isArray(value)) {
      return value;
    }
    if (f === 'csv' || f === 'raw') {
      return value.join(',');
    }
    return value.length === 1 ? value[0] : `{${value.join(',')}}`;
  };
  return {
    getVariables: () => models,
    replace: (target?: string, scopedVars?: ScopedVars, fmt?: Format) =>
      (target ?? '').replace(REF_RE, (match, n1?: string, n2?: string, f2?: string, n3?: string, f3?: string) => {
        const name = n1 ?? n2 ?? n3 ?? '';
        const value = lookup(name, scopedVars);
        return value === undefined ? match : format(value, fmt, f2 ?? f3);
      }),
    containsTemplate: (target?: string) => new RegExp(REF_RE.source).test(target ?? ''),
    updateTimeRange: () => undefined,
  };
}
