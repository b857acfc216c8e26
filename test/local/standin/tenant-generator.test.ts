import { describe, expect, it } from 'vitest';

import { generateTenant } from '../../../local/standin/tenant/generator.js';
import { TenantStore } from '../../../local/standin/tenant/tenant-store.js';
import { text } from '../../../local/standin/tenant/types.js';

function generate(seed: number, users: number): TenantStore {
  const store = new TenantStore('tenant', () => new Date('2026-11-22T00:00:00Z'));
  generateTenant(store, { seed, users, extensionAppId: 'abc123' });
  return store;
}

function depthOf(store: TenantStore, id: string): number {
  let depth = 0;
  let current = store.usersById.get(id);
  while (current?.managerId) {
    current = store.usersById.get(current.managerId);
    depth++;
  }
  return depth;
}

describe('tenant generator', () => {
  it('is deterministic: the same seed gives the same tenant, another seed another one', () => {
    const a = generate(42, 2000);
    const b = generate(42, 2000);
    const c = generate(43, 2000);
    expect(a.userOrder.map((u) => [u.id, u.props, u.managerId])).toEqual(
      b.userOrder.map((u) => [u.id, u.props, u.managerId]),
    );
    expect(a.groupOrder.map((g) => [g.id, [...g.members]])).toEqual(
      b.groupOrder.map((g) => [g.id, [...g.members]]),
    );
    expect(c.userOrder[0]!.id).not.toBe(a.userOrder[0]!.id);
  });

  it('builds a realistic directory: one CEO, 5 to 8 management levels, spans of 5 to 10, guests outside the tree', () => {
    const store = generate(7, 20_000);
    const users = store.userOrder;
    const members = users.filter((u) => u.props.userType === 'Member');
    const guests = users.filter((u) => u.props.userType === 'Guest');
    expect(members.filter((u) => u.managerId === null)).toHaveLength(1);
    const maxDepth = Math.max(...members.map((u) => depthOf(store, u.id)));
    expect(maxDepth).toBeGreaterThanOrEqual(5);
    expect(maxDepth).toBeLessThanOrEqual(8);
    const spans = new Map<string, number>();
    for (const u of members) if (u.managerId) spans.set(u.managerId, (spans.get(u.managerId) ?? 0) + 1);
    const fullSpans = [...spans.values()].sort((x, y) => x - y).slice(1); // the last manager may be partial
    expect(Math.min(...fullSpans)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...fullSpans)).toBeLessThanOrEqual(10);
    expect(guests.length / users.length).toBeGreaterThan(0.03);
    expect(guests.length / users.length).toBeLessThan(0.07);
    expect(
      guests.every((g) => text(g.props.userPrincipalName).includes('#EXT#') && g.managerId === null),
    ).toBe(true);
    const disabled = users.filter((u) => u.props.accountEnabled === false).length / users.length;
    expect(disabled).toBeGreaterThan(0.02);
    expect(disabled).toBeLessThan(0.04);
    const photos = users.filter((u) => u.photo !== null).length / users.length;
    expect(photos).toBeGreaterThan(0.27);
    expect(photos).toBeLessThan(0.33);
    expect(
      members.every(
        (u) => typeof u.props.employeeId === 'string' && typeof u.props.employeeHireDate === 'string',
      ),
    ).toBe(true);
    expect(members.some((u) => u.props.customSecurityAttributes !== null)).toBe(true);
    expect(members.some((u) => u.props.extension_abc123_costCenter !== null)).toBe(true);
    expect(new Set(users.map((u) => text(u.props.userPrincipalName).toLowerCase())).size).toBe(users.length);
  });

  it('makes about users/20 groups, some nested, whose members all exist', () => {
    const store = generate(9, 4000);
    expect(store.groupOrder).toHaveLength(200);
    const nested = store.groupOrder.filter((g) => [...g.members].some((id) => store.groupsById.has(id)));
    expect(nested.length).toBeGreaterThan(1);
    for (const group of store.groupOrder) {
      for (const id of group.members) expect(store.usersById.has(id) || store.groupsById.has(id)).toBe(true);
    }
  });
});

describe('tenant store change log', () => {
  it('records each mutation once and reports the changed ids between two sequences', () => {
    const store = generate(3, 50);
    const changes: string[] = [];
    store.onChange((c) => changes.push(`${c.resource}:${c.changeType}:${c.permanent ?? ''}`));
    const [a, b] = store.userOrder;
    store.updateUser(a!.id, { jobTitle: 'Changed' });
    store.softDelete(b!.id);
    store.restore(b!.id);
    store.hardDelete(b!.id);
    expect(store.changedIdsBetween('users', 0, store.seq)).toEqual(expect.arrayContaining([a!.id, b!.id]));
    expect(changes).toContain('users:deleted:false');
    expect(changes).toContain('users:deleted:true');
    expect(store.findUser(b!.id)).toBeUndefined();
  });
});
