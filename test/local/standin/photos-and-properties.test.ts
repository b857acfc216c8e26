/**
 * The Graph adapter's reads outside the default mapping, through the real Graph client and
 * @azure/identity against the stand-in: the mirrored `$select` on `/users/delta`, custom security
 * attributes (and the permission Graph requires for them), and photo metadata in `$batch`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../local/standin/index.js';
import { parseUserItem } from '../../../src/adapters/graph/delta-changes.js';
import { GraphDirectorySource, userDeltaSelect } from '../../../src/adapters/graph/graph-directory-source.js';
import { resolveCloud } from '../../../src/domain/cloud.js';
import type { UserChange } from '../../../src/domain/directory.js';
import {
  MIRRORED_MORE_PROPERTIES,
  SECURITY_ATTRIBUTES_PERMISSION,
} from '../../../src/domain/mirrored-properties.js';
import { rawCall, secretCredential } from './standin-test-clients.js';

const FIXTURES = join(import.meta.dirname, '../../../../shared/fixtures/graph');
let standin: RunningStandin;

function source(directoryExtensions: string[] = []): GraphDirectorySource {
  return new GraphDirectorySource({
    cloud: resolveCloud({ authorityHost: standin.authorityHost, graphEndpoint: standin.graphEndpoint }),
    credential: secretCredential(standin),
    maxRetries: 2,
    retryDelaySeconds: 0,
    directoryExtensions,
  });
}

beforeAll(async () => {
  standin = await startStandin({ users: 120, seed: 8 });
});
afterAll(async () => {
  await standin.stop();
});
beforeEach(() => {
  standin.control.clearFaults();
  standin.control.resetCounters();
  standin.control.setGrantedPermissions(['User.Read.All', 'GroupMember.Read.All']);
});

async function deltaFacts(
  graph: GraphDirectorySource,
): Promise<Map<string, NonNullable<UserChange['facts']>>> {
  const facts = new Map<string, NonNullable<UserChange['facts']>>();
  let url: string | undefined = graph.initialDeltaUrl('users');
  while (url) {
    const page = await graph.getDeltaPage(url);
    for (const item of page.items) {
      const parsed = parseUserItem(item, '1', { full: true });
      if (!parsed.ok) throw new Error(parsed.reason);
      const change = parsed.changes[0] as UserChange;
      if (change.facts) facts.set(change.id, change.facts);
    }
    url = page.nextLink;
  }
  return facts;
}

describe('the mirrored $select on /users/delta', () => {
  it('selects every mirrored property, the extension attributes and the named directory extensions', () => {
    const costCenter = standin.generated.costCenterProperty;
    const select = new URL(source([costCenter]).initialDeltaUrl('users')).searchParams.get('$select')!;
    const names = select.split(',');
    for (const name of [
      ...MIRRORED_MORE_PROPERTIES,
      'onPremisesExtensionAttributes',
      costCenter,
      'manager',
    ]) {
      expect(names).toContain(name);
    }
    expect(names).not.toContain('customSecurityAttributes');
    expect(userDeltaSelect()).not.toContain('extension_');
  });

  it('puts the other properties, extension attributes and directory extensions of each user in its facts', async () => {
    const costCenter = standin.generated.costCenterProperty;
    const facts = await deltaFacts(source([costCenter]));
    const users = standin.control.snapshot().users.filter((u) => !u.softDeleted);
    expect(facts.size).toBe(users.length);
    for (const user of users) {
      const got = facts.get(user.id)!;
      expect(got.more?.city ?? null, user.id).toEqual(user.city);
      expect(got.more?.companyName ?? null).toEqual(user.companyName);
      expect(got.more?.country ?? null).toEqual(user.country);
      expect(got.more?.employeeOrgData ?? null).toEqual(user.employeeOrgData);
      expect(got.more?.onPremisesSyncEnabled ?? null).toEqual(user.onPremisesSyncEnabled);
      expect(got.more?.[costCenter] ?? null).toEqual(user[costCenter]);
      // The division extension was not named: not selected, not mirrored.
      expect(got.more?.[standin.generated.divisionProperty]).toBeUndefined();
      const attributes = Object.fromEntries(
        Object.entries(user.onPremisesExtensionAttributes as Record<string, string | null>).filter(
          ([, v]) => v !== null,
        ),
      );
      expect(got.onPremisesExtensionAttributes ?? {}).toEqual(attributes);
    }
    expect([...facts.values()].filter((f) => f.onPremisesExtensionAttributes).length).toBeGreaterThan(0);
  });

  it('carries a property changed through the control API into the next delta round', async () => {
    const graph = source();
    let url: string | undefined = graph.initialDeltaUrl('users');
    let deltaLink = '';
    while (url) {
      const page = await graph.getDeltaPage(url);
      deltaLink = page.deltaLink ?? deltaLink;
      url = page.nextLink;
    }
    const member = standin.control.snapshot().users.find((u) => u.userType === 'Member' && !u.softDeleted)!;
    standin.control.updateUser(member.id, { city: 'Lyon', streetAddress: '1 Rue de la République' });
    standin.control.setExtensionAttributes(member.id, { extensionAttribute7: 'Band 3' });
    const page = await graph.getDeltaPage(deltaLink);
    const parsed = parseUserItem(
      page.items.find((i) => (i as { id: string }).id === member.id),
      '2',
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    const facts = (parsed.changes[0] as UserChange).facts!;
    expect(facts.more?.city).toBe('Lyon');
    expect(facts.more?.streetAddress).toBe('1 Rue de la République');
    expect(facts.onPremisesExtensionAttributes?.extensionAttribute7).toBe('Band 3');
  });
});

describe('custom security attributes', () => {
  it('are refused with 403 without CustomSecAttributeAssignment.Read.All, as Graph does', async () => {
    const graph = source();
    expect(await graph.grantedRoles()).not.toContain(SECURITY_ATTRIBUTES_PERMISSION);
    await expect(async () => {
      for await (const page of graph.securityAttributePages()) void page;
    }).rejects.toMatchObject({ category: 'permission-denied' });
  });

  it('are listed page by page with the permission, for every user', async () => {
    standin.control.setGrantedPermissions(['User.Read.All', SECURITY_ATTRIBUTES_PERMISSION]);
    const graph = source();
    expect(await graph.grantedRoles()).toContain(SECURITY_ATTRIBUTES_PERMISSION);
    const listed = new Map<string, unknown>();
    for await (const page of graph.securityAttributePages())
      for (const u of page) listed.set(u.id, u.attributes);
    const users = standin.control.snapshot().users.filter((u) => !u.softDeleted);
    expect(listed.size).toBe(users.length);
    for (const user of users) expect(listed.get(user.id)).toEqual(user.customSecurityAttributes);
    expect([...listed.values()].filter((a) => a !== null).length).toBeGreaterThan(0);
  });
});

describe('photo metadata in $batch', () => {
  it('reads every user in ceil(n/20) $batch requests, the media ETag of each photo and null without one', async () => {
    const graph = source();
    const users = standin.control.snapshot().users.filter((u) => !u.softDeleted);
    const metadata = await graph.photoMetadata(users.map((u) => u.id));
    expect(standin.control.counters().requestsByRoute['POST /$batch']).toBe(Math.ceil(users.length / 20));
    for (const user of users) {
      const got = metadata.get(user.id);
      expect(got === null ? null : got?.mediaEtag, user.id).toBe(user.photoEtag);
    }
    expect(users.some((u) => u.photoEtag !== null)).toBe(true);
    expect(users.some((u) => u.photoEtag === null)).toBe(true);
  });

  it('answers GET /users/{id}/photo with the properties of profilephoto-get.md and a batch like json-batching.md', async () => {
    const withPhoto = standin.control.snapshot().users.find((u) => u.photoEtag !== null && !u.softDeleted)!;
    const token = (await secretCredential(standin).getToken('https://graph.microsoft.com/.default'))!.token;
    const single = await rawCall(standin, token, 'GET', `/users/${withPhoto.id}/photo`);
    expect(single.status).toBe(200);
    expect(Object.keys(single.body as object).sort()).toEqual(
      [
        '@odata.context',
        '@odata.id',
        '@odata.mediaContentType',
        '@odata.mediaEtag',
        'height',
        'id',
        'width',
      ].sort(),
    );
    const batch = await rawCall(standin, token, 'POST', '/$batch', {
      body: { requests: [{ id: '1', method: 'GET', url: `/users/${withPhoto.id}/photo` }] },
    });
    const fixture = JSON.parse(readFileSync(join(FIXTURES, 'batch.response.json'), 'utf8')) as {
      response: { body: { responses: Array<Record<string, unknown>> } };
    };
    const shape = (item: Record<string, unknown>) => Object.keys(item).sort();
    const item = (batch.body as { responses: Array<Record<string, unknown>> }).responses[0]!;
    expect(shape(item)).toEqual(shape(fixture.response.body.responses[0]!));
    expect(item.status).toBe(200);
    expect((item.body as Record<string, unknown>)['@odata.mediaEtag']).toBe(withPhoto.photoEtag);
  });

  it('downloads the bytes with their content type, and null once the photo is removed', async () => {
    const graph = source();
    const user = standin.control.snapshot().users.find((u) => u.photoEtag !== null && !u.softDeleted)!;
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    standin.control.setPhoto(user.id, png);
    const content = await graph.downloadPhoto(user.id);
    expect(content?.contentType).toBe('image/png');
    expect(content?.bytes.equals(png)).toBe(true);
    standin.control.setPhoto(user.id, null);
    expect(await graph.downloadPhoto(user.id)).toBeNull();
    expect((await graph.photoMetadata([user.id])).get(user.id)).toBeNull();
  });
});
