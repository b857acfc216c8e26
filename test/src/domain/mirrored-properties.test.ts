import { describe, expect, it } from 'vitest';

import { parseUserItem } from '../../../src/adapters/graph/delta-changes.js';
import type { UserChange } from '../../../src/domain/directory.js';
import {
  directoryExtensionsOf,
  MIRRORED_MORE_PROPERTIES,
  mirroredSelectExtras,
  usesSecurityAttributes,
} from '../../../src/domain/mirrored-properties.js';
import { policySchema } from '../../../src/domain/policy.js';
import { directoryChangeSchema, userFactsSchema } from '../../../src/usecases/messages.js';

const APP = '0123456789abcdef0123456789abcdef';

describe('the mirrored properties', () => {
  it('name the directory extensions of mappings and of the scope $filter, once each, sorted', () => {
    const policy = policySchema.parse({
      scope: { filter: `extension_${APP}_division eq 'North' and extension_${APP}_costCenter ne null` },
      mappings: [
        { source: `extension_${APP}_costCenter`, target: { customProperty: 'costCenter' } },
        { source: 'city', target: { customProperty: 'city' } },
      ],
    });
    expect(directoryExtensionsOf(policy)).toEqual([
      `extension_${APP}_costCenter`,
      `extension_${APP}_division`,
    ]);
    expect(usesSecurityAttributes(policy)).toBe(false);
  });

  it('need the security attribute pass only when a mapping or the filter reads customSecurityAttributes', () => {
    const mapped = policySchema.parse({
      mappings: [{ source: 'customSecurityAttributes.Engineering.Project', target: { customProperty: 'p' } }],
    });
    const filtered = policySchema.parse({ scope: { filter: "customSecurityAttributes/HR/Band eq 'B'" } });
    expect(usesSecurityAttributes(mapped)).toBe(true);
    expect(usesSecurityAttributes(filtered)).toBe(true);
  });

  it('select the fixed list, then onPremisesExtensionAttributes, then valid extension names only', () => {
    expect(mirroredSelectExtras([`extension_${APP}_x`, 'extension_bad_x', `extension_${APP}_x`])).toEqual([
      ...MIRRORED_MORE_PROPERTIES,
      'onPremisesExtensionAttributes',
      `extension_${APP}_x`,
    ]);
  });

  it('are parsed from a delta item into facts, null values and empty extension attributes left out', () => {
    const parsed = parseUserItem(
      {
        id: 'u1',
        displayName: 'Ada',
        city: 'Paris',
        state: null,
        employeeOrgData: { division: 'North', costCenter: 'CC-1' },
        onPremisesSyncEnabled: true,
        otherMails: [],
        onPremisesExtensionAttributes: { extensionAttribute1: 'CC-1', extensionAttribute2: null },
        [`extension_${APP}_costCenter`]: 'CC-1001',
        [`extension_${APP}_none`]: null,
        unrelated: 'ignored',
      },
      '1',
    );
    expect(parsed.ok).toBe(true);
    const facts = (parsed.ok && (parsed.changes[0] as UserChange).facts)! as NonNullable<UserChange['facts']>;
    expect(facts.more).toEqual({
      city: 'Paris',
      employeeOrgData: { division: 'North', costCenter: 'CC-1' },
      onPremisesSyncEnabled: true,
      otherMails: [],
      [`extension_${APP}_costCenter`]: 'CC-1001',
    });
    expect(facts.onPremisesExtensionAttributes).toEqual({ extensionAttribute1: 'CC-1' });
    expect(userFactsSchema.parse(facts)).toEqual(facts);
    const none = parseUserItem(
      { id: 'u2', onPremisesExtensionAttributes: { extensionAttribute1: null } },
      '1',
    );
    expect(none.ok && (none.changes[0] as UserChange).facts).not.toHaveProperty(
      'onPremisesExtensionAttributes',
    );
  });

  it('leave a message written before they existed parseable', () => {
    const old = {
      kind: 'user',
      id: 'u1',
      version: '1',
      facts: {
        displayName: 'Ada',
        givenName: null,
        surname: null,
        mail: null,
        userPrincipalName: 'ada@contoso.com',
        jobTitle: null,
        department: null,
        officeLocation: null,
        employeeId: null,
        employeeHireDate: null,
        accountEnabled: true,
        userType: 'Member',
        proxyAddresses: [],
      },
    };
    expect(directoryChangeSchema.safeParse(old).success).toBe(true);
  });
});
