import { ScopedVars } from '@grafana/data';

import { markConditionalAll, variableSelectsAll } from './conditionalAll';
import { sqlQuote } from './DataSource';
import { fakeTemplateSrv } from './fakeTemplateSrv';

const srv = fakeTemplateSrv([
  { name: 'team', current: '$__all', options: ['core', 'web'] },
  { name: 'multi', current: ['$__all'], options: ['a', 'b'] },
  { name: 'project', current: ['web', 'api'], options: ['web', 'api', 'ops'] },
  { name: 'env', current: 'prod', options: ['prod', 'dev'] },
]);

const mark = (sql: string, scopedVars: ScopedVars = {}) => markConditionalAll(sql, srv, scopedVars);

describe('variableSelectsAll', () => {
  it('reads the dashboard variable', () => {
    expect(variableSelectsAll(srv, 'team', {})).toBe(true);
    expect(variableSelectsAll(srv, 'multi', {})).toBe(true);
    expect(variableSelectsAll(srv, 'project', {})).toBe(false);
    expect(variableSelectsAll(srv, 'env', {})).toBe(false);
    expect(variableSelectsAll(srv, 'unknown', {})).toBe(false);
  });

  it('lets scopedVars decide (repeated panels in legacy dashboards)', () => {
    expect(variableSelectsAll(srv, 'team', { team: { text: 'core', value: 'core' } })).toBe(false);
    expect(variableSelectsAll(srv, 'env', { env: { text: 'All', value: '$__all' } })).toBe(true);
  });

  it('sees a Scenes repeat that narrows the variable through __sceneObject', () => {
    const scoped: ScopedVars = { __sceneObject: { value: { locals: { team: 'core' } } } };
    expect(variableSelectsAll(srv, 'team', scoped)).toBe(false);
    const same: ScopedVars = { __sceneObject: { value: { locals: {} } } };
    expect(variableSelectsAll(srv, 'team', same)).toBe(true);
  });
});

describe('markConditionalAll', () => {
  it('marks every reference form of an All variable', () => {
    expect(mark('WHERE $__conditionalAll(team IN ($team), $team)')).toBe(
      'WHERE $__conditionalAll(team IN ($team), $__all)'
    );
    expect(mark('$__conditionalAll(x, ${team})')).toBe('$__conditionalAll(x, $__all)');
    expect(mark('$__conditionalAll(x, ${team:csv})')).toBe('$__conditionalAll(x, $__all)');
    expect(mark('$__conditionalAll(x, [[team]])')).toBe('$__conditionalAll(x, $__all)');
    expect(mark("$__conditionalAll(x, '$team')")).toBe("$__conditionalAll(x, '$__all')");
    expect(mark('$__conditionalAll(x, ( $multi ))')).toBe('$__conditionalAll(x, ( $__all ))');
  });

  it('leaves variables that do not select All, unknown ones and lists', () => {
    for (const sql of [
      '$__conditionalAll(p IN ($project), $project)',
      '$__conditionalAll(e = $env, $env)',
      '$__conditionalAll(x, $nope)',
      '$__conditionalAll(x, $team, $project)',
      '$__conditionalAll(x, $team || "a")',
      '$__conditionalAllx(x, $team)',
      '$__conditionalAll (x, $team)',
      '$__conditionalAll(x, $team',
    ]) {
      expect(mark(sql)).toBe(sql);
    }
  });

  it('splits arguments like the backend: quotes and parentheses hold commas', () => {
    expect(mark("$__conditionalAll(f(a, ','), $team)")).toBe("$__conditionalAll(f(a, ','), $__all)");
    expect(mark("$__conditionalAll(a = 'it''s, ok', $team)")).toBe("$__conditionalAll(a = 'it''s, ok', $__all)");
  });

  it('handles several and nested macros', () => {
    expect(
      mark(
        '$__conditionalAll($__conditionalAll(t = 1, $team) AND p IN ($project), $multi) OR $__conditionalAll(y, $env)'
      )
    ).toBe(
      '$__conditionalAll($__conditionalAll(t = 1, $__all) AND p IN ($project), $__all) OR $__conditionalAll(y, $env)'
    );
  });

  it('survives interpolation, which expands the rest', () => {
    const sql =
      'WHERE $__conditionalAll(team IN ($team), $team) AND $__conditionalAll(project IN ($project), $project)';
    expect(srv.replace(mark(sql), {}, sqlQuote)).toBe(
      "WHERE $__conditionalAll(team IN ('core','web'), $__all) AND $__conditionalAll(project IN ('web','api'), 'web','api')"
    );
  });
});
