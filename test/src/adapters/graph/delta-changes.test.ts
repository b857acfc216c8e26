import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  type ParsedItem,
  parseGroupItem,
  parseUserItem,
} from '../../../../src/adapters/graph/delta-changes.js';
import type {
  DirectoryChange,
  EdgeChange,
  GroupChange,
  UserChange,
} from '../../../../src/domain/directory.js';

/** Microsoft's published Graph examples (see README.md there). */
const FIXTURES_DIR = '/work/shared/fixtures/graph';
const VERSION = '0000000003.000001.000002';

type Item = Record<string, unknown>;

function itemsOf(file: string): Item[] {
  const fixture = JSON.parse(readFileSync(join(FIXTURES_DIR, file), 'utf8')) as {
    response: { body: { value: Item[] } } | null;
  };
  return fixture.response?.body.value ?? [];
}

function fixtureFiles(prefix: string): string[] {
  return readdirSync(FIXTURES_DIR).filter((file) => file.startsWith(prefix) && file.endsWith('.json'));
}

function accepted(parsed: ParsedItem): DirectoryChange[] {
  if (!parsed.ok) throw new Error(`refused: ${parsed.reason}`);
  return parsed.changes;
}

function expectRefused(parsed: ParsedItem, objectId: string | null, reason: RegExp): void {
  const refused = refusal(parsed);
  expect(refused.objectId).toBe(objectId);
  expect(refused.reason).toMatch(reason);
}

function refusal(parsed: ParsedItem): { objectId: string | null; reason: string } {
  if (parsed.ok) throw new Error('expected a refusal');
  return { objectId: parsed.objectId, reason: parsed.reason };
}

const userFixtures = fixtureFiles('user-delta.');
const groupFixtures = fixtureFiles('group-delta.');

describe('parseUserItem on the Graph user delta examples', () => {
  it('finds the user delta examples', () => {
    expect(userFixtures.length).toBeGreaterThanOrEqual(8);
  });

  it.each(userFixtures)('parses every item of %s into the right kind of user change', (file) => {
    for (const item of itemsOf(file)) {
      const parsed = parseUserItem(item, VERSION);
      if (typeof item.id !== 'string') {
        // The $select examples of user-delta.md print items without `id` (a doc shortcut): refused, named.
        expectRefused(parsed, null, /^Graph item refused: id: /);
        continue;
      }
      const changes = accepted(parsed);
      expect(changes).toHaveLength(1);
      const change = changes[0] as UserChange;
      expect(change).toMatchObject({ kind: 'user', id: item.id, version: VERSION });
      expect(change.manager).toBeUndefined();
      const removed = item['@removed'] as { reason: string } | undefined;
      if (removed) {
        expect(change.removed).toBe(removed.reason === 'changed' ? 'soft' : 'hard');
        expect(change.facts).toBeUndefined();
      } else {
        expect(change.removed).toBeUndefined();
        expect(change.facts).toMatchObject({
          displayName: item.displayName ?? null,
          givenName: item.givenName ?? null,
          surname: item.surname ?? null,
          mail: item.mail ?? null,
          userPrincipalName: item.userPrincipalName ?? null,
          jobTitle: item.jobTitle ?? null,
          officeLocation: item.officeLocation ?? null,
        });
      }
    }
  });

  it('reads a soft delete (@removed changed) and a hard delete (@removed deleted)', () => {
    const soft = accepted(parseUserItem(itemsOf('user-delta.deltalink-changes.json')[1], VERSION));
    expect(soft).toEqual([
      { kind: 'user', id: '8ffff70c-1c63-4860-b963-e34ec660931d', version: VERSION, removed: 'soft' },
    ]);
    const hard = accepted(parseUserItem(itemsOf('user-delta.initial-round.json')[2], VERSION));
    expect(hard).toEqual([
      { kind: 'user', id: '86462606-fde0-4fc4-9e0c-a20eb73e54c6', version: VERSION, removed: 'hard' },
    ]);
  });

  it('maps the default-properties example to complete facts, absent properties as null, the others in `more`', () => {
    const [change] = accepted(parseUserItem(itemsOf('user-delta.default-properties.json')[0], VERSION));
    expect(change).toEqual({
      kind: 'user',
      id: '87d349ed-44d7-43e1-9a83-5f2406dee5bd',
      version: VERSION,
      facts: {
        displayName: 'Adele Vance',
        givenName: 'Adele',
        surname: 'Vance',
        mail: 'AdeleV@contoso.onmicrosoft.com',
        userPrincipalName: 'AdeleV@contoso.onmicrosoft.com',
        jobTitle: 'Retail Manager',
        department: null,
        officeLocation: '18/2111',
        employeeId: null,
        employeeHireDate: null,
        accountEnabled: null,
        userType: null,
        proxyAddresses: [],
        more: {
          businessPhones: ['+1 425 555 0109'],
          mobilePhone: '+1 425 555 0109',
          preferredLanguage: 'en-US',
        },
      },
    });
  });
});

describe('parseUserItem manager@delta', () => {
  const base = { id: '25dcffff-959e-4ece-9973-e5d9b800e8cc', displayName: 'MOD Administrator' };
  const managerId = 'f6ede700-27d0-4c42-bfb9-4dffff43c74a';

  it('sets the manager from manager@delta', () => {
    const item = { ...base, 'manager@delta': [{ '@odata.type': '#microsoft.graph.user', id: managerId }] };
    expect(accepted(parseUserItem(item, VERSION))[0]).toMatchObject({ manager: managerId });
  });

  it('removes the manager when manager@delta only holds a removed entry', () => {
    const item = { ...base, 'manager@delta': [{ id: managerId, '@removed': { reason: 'deleted' } }] };
    expect(accepted(parseUserItem(item, VERSION))[0]).toMatchObject({ manager: null });
  });

  it('takes the new manager when manager@delta removes the old one and adds another', () => {
    const item = {
      ...base,
      'manager@delta': [
        { id: managerId, '@removed': { reason: 'deleted' } },
        { '@odata.type': '#microsoft.graph.user', id: '8b1ee412-cd8f-4d59-ffff-24010edb9f1f' },
      ],
    };
    expect(accepted(parseUserItem(item, VERSION))[0]).toMatchObject({
      manager: '8b1ee412-cd8f-4d59-ffff-24010edb9f1f',
    });
  });

  it('leaves the manager unchanged (absent) without manager@delta', () => {
    expect('manager' in accepted(parseUserItem(base, VERSION))[0]!).toBe(false);
  });
});

describe('parseUserItem refusals', () => {
  it('refuses an item without id, naming id', () => {
    expectRefused(parseUserItem({ displayName: 'No Id' }, VERSION), null, /^Graph item refused: id: /);
    expectRefused(parseUserItem({ id: '' }, VERSION), '', /: id: /);
  });

  it('refuses accountEnabled given as a string, naming the field and keeping the object id', () => {
    const id = '87d349ed-44d7-43e1-9a83-5f2406dee5bd';
    expectRefused(
      parseUserItem({ id, accountEnabled: 'true' }, VERSION),
      id,
      /^Graph item refused: accountEnabled: /,
    );
  });

  it('refuses an unknown @removed reason and a manager entry without id, naming where', () => {
    const id = '87d349ed-44d7-43e1-9a83-5f2406dee5bd';
    expectRefused(parseUserItem({ id, '@removed': { reason: 'gone' } }, VERSION), id, /: @removed\.reason: /);
    expectRefused(parseUserItem({ id, 'manager@delta': [{}] }, VERSION), id, /: manager@delta\.0\.id: /);
  });

  it('refuses anything that is not an object, and never throws on any JSON value', () => {
    expect(refusal(parseUserItem(null, VERSION)).objectId).toBeNull();
    expect(refusal(parseUserItem('87d349ed', VERSION)).objectId).toBeNull();
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(() => parseUserItem(value, VERSION)).not.toThrow();
        expect(() => parseGroupItem(value, VERSION)).not.toThrow();
      }),
    );
  });

  it('keeps unknown properties out of the facts (businessPhones, mobilePhone, …)', () => {
    const [change] = accepted(parseUserItem(itemsOf('user-delta.default-properties.json')[0], VERSION));
    expect(Object.keys((change as UserChange).facts!)).not.toContain('businessPhones');
  });
});

describe('parseGroupItem on the Graph group delta examples', () => {
  it('finds the group delta examples', () => {
    expect(groupFixtures.length).toBeGreaterThanOrEqual(10);
  });

  it.each(groupFixtures)('parses every item of %s into the right group and edge changes', (file) => {
    for (const item of itemsOf(file)) {
      const parsed = parseGroupItem(item, VERSION);
      if (typeof item.id !== 'string') {
        // group-delta.md prints its default and $select examples without the group `id`: refused, named.
        expectRefused(parsed, null, /^Graph item refused: id: /);
        continue;
      }
      const changes = accepted(parsed);
      const groups = changes.filter((c): c is GroupChange => c.kind === 'group');
      const edges = changes.filter((c): c is EdgeChange => c.kind === 'edge');
      expect(groups).toEqual([
        {
          kind: 'group',
          id: item.id,
          version: VERSION,
          facts: {
            displayName: item.displayName ?? null,
            description: item.description ?? null,
            mailNickname: item.mailNickname ?? null,
          },
        },
      ]);
      const members = (item['members@delta'] ?? []) as { id: string; '@removed'?: unknown }[];
      expect(edges).toEqual(
        members.map((member) => ({
          kind: 'edge',
          groupId: item.id,
          memberId: member.id,
          memberType: 'user',
          present: member['@removed'] === undefined,
          version: VERSION,
        })),
      );
    }
  });

  it('reads a members@delta removal as an absent edge and an addition as a present one', () => {
    const changes = accepted(parseGroupItem(itemsOf('group-delta.members-delta.json')[0], VERSION));
    expect(changes.filter((c) => c.kind === 'edge')).toEqual([
      {
        kind: 'edge',
        groupId: '2e5807ce-58f3-4a94-9b37-ffff2e085957',
        memberId: '632f6bb2-3ec8-4c1f-9073-0027a8c6859',
        memberType: 'user',
        present: false,
        version: VERSION,
      },
      {
        kind: 'edge',
        groupId: '2e5807ce-58f3-4a94-9b37-ffff2e085957',
        memberId: '37de1ae3-408f-4702-8636-20824abda004',
        memberType: 'user',
        present: true,
        version: VERSION,
      },
    ]);
  });

  it('gives only the group for a group without members@delta (no members, no edges)', () => {
    const changes = accepted(parseGroupItem(itemsOf('group-delta.initial-round.json')[1], VERSION));
    expect(changes.map((c) => c.kind)).toEqual(['group']);
  });

  it('gives only edge changes for a later page of a large group that carries no properties', () => {
    const {
      displayName: _name,
      description: _description,
      ...page2
    } = itemsOf('group-delta.large-group-page2.json')[0]!;
    const changes = accepted(parseGroupItem(page2, VERSION));
    expect(changes.map((c) => c.kind)).toEqual(['edge', 'edge']);
    expect(changes).toMatchObject([
      { memberId: 'c08a463b-7b8a-40a4-aa31-f9bf690b9551', present: false },
      { memberId: '23423fa6-821e-44b2-aae4-d039d33884c2', present: true },
    ]);
  });

  it('reads a nested group member as a group edge, whatever the casing of @odata.type', () => {
    const item = {
      id: '2e5807ce-58f3-4a94-9b37-ffff2e085957',
      'members@delta': [
        { '@odata.type': '#microsoft.graph.group', id: 'c2f798fd-f95d-4623-8824-63aec21fffff' },
        { '@odata.type': '#Microsoft.Graph.Group', id: 'ec22655c-8eb2-432a-b4ea-8b8a254bffff' },
      ],
    };
    expect(accepted(parseGroupItem(item, VERSION)).map((c) => c.kind === 'edge' && c.memberType)).toEqual([
      'group',
      'group',
    ]);
  });

  // Group delta lists service principals, devices and org contacts among members: never people.
  it('does not record a service principal, device or org contact member as a user edge', () => {
    const item = {
      id: '2e5807ce-58f3-4a94-9b37-ffff2e085957',
      'members@delta': [
        { '@odata.type': '#microsoft.graph.servicePrincipal', id: '3c8ac7c4-d365-4df9-abfa-356a9dd7763c' },
        { '@odata.type': '#microsoft.graph.device', id: '49320844-be99-4164-8167-87ff5d047ace' },
        { '@odata.type': '#microsoft.graph.orgContact', id: '693acd06-2877-4339-8ade-b704261fe7a0' },
      ],
    };
    const parsed = parseGroupItem(item, VERSION);
    const userEdges = parsed.ok
      ? parsed.changes.filter((c) => c.kind === 'edge' && c.memberType === 'user')
      : [];
    expect(userEdges).toEqual([]);
  });

  it('reads a removed group as soft or hard deletion without facts or edges', () => {
    const id = 'c2f798fd-f95d-4623-8824-63aec21fffff';
    expect(accepted(parseGroupItem({ id, '@removed': { reason: 'changed' } }, VERSION))).toEqual([
      { kind: 'group', id, version: VERSION, removed: 'soft' },
    ]);
    expect(accepted(parseGroupItem({ id, '@removed': { reason: 'deleted' } }, VERSION))).toEqual([
      { kind: 'group', id, version: VERSION, removed: 'hard' },
    ]);
  });

  it('refuses a group without id and a member entry without id, naming where', () => {
    expectRefused(parseGroupItem({ displayName: 'x' }, VERSION), null, /^Graph item refused: id: /);
    const id = 'c2f798fd-f95d-4623-8824-63aec21fffff';
    const member = { '@odata.type': '#microsoft.graph.user' };
    expectRefused(parseGroupItem({ id, 'members@delta': [member] }, VERSION), id, /: members@delta\.0\.id: /);
  });
});
