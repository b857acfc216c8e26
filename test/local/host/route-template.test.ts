import { describe, expect, it } from 'vitest';

import { compileRouteTemplate } from '../../../local/host/route-template.js';

describe('compileRouteTemplate', () => {
  it('matches literal routes case-insensitively, with no parameters', () => {
    const route = compileRouteTemplate('health');
    expect(route.match('health')).toEqual({});
    expect(route.match('Health/')).toEqual({});
    expect(route.match('health/x')).toBeUndefined();
  });

  it('binds {name} and decodes it', () => {
    expect(compileRouteTemplate('users/{id}').match('users/a%20b')).toEqual({ id: 'a b' });
  });

  it('applies the int constraint', () => {
    const route = compileRouteTemplate('items/{id:int}');
    expect(route.match('items/-12')).toEqual({ id: '-12' });
    expect(route.match('items/abc')).toBeUndefined();
  });

  it('makes {name?} optional', () => {
    const route = compileRouteTemplate('tenants/{tenantId}/sync/{mode?}');
    expect(route.match('tenants/t1/sync')).toEqual({ tenantId: 't1' });
    expect(route.match('tenants/t1/sync/full')).toEqual({ tenantId: 't1', mode: 'full' });
  });

  it('binds a catch-all {*rest} to the remaining path', () => {
    expect(compileRouteTemplate('files/{*path}').match('files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
  });

  it('binds parameters inside a segment', () => {
    expect(compileRouteTemplate('docs/{name}.{ext:alpha}').match('docs/readme.md')).toEqual({
      name: 'readme',
      ext: 'md',
    });
  });

  it('ranks literal segments above parameters', () => {
    expect(compileRouteTemplate('users/me').precedence).toBeGreaterThan(
      compileRouteTemplate('users/{id}').precedence,
    );
  });

  it('refuses constraints it cannot honour', () => {
    expect(() => compileRouteTemplate('x/{id:regex(^a$)}')).toThrow(/not supported/);
  });
});
