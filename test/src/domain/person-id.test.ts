import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { personIdFor, teamIdFor } from '../../../src/domain/person-id.js';
import { guid } from './arbitraries.js';

const RFC_9562_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('personIdFor', () => {
  it('matches an independent RFC 9562 v5 implementation (Python uuid.uuid5, URL namespace)', () => {
    // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, 'person:<tenant>:<objectId>'))"
    expect(personIdFor('72f988bf-86f1-41af-91ab-2d7cd011db47', '87d349ed-44d7-43e1-9a83-5f2406dee5bd')).toBe(
      '56a103a9-80c5-5e91-9073-92092630f16c',
    );
    expect(teamIdFor('72f988bf-86f1-41af-91ab-2d7cd011db47', '2e5807ce-58f3-4a94-9b37-ffff2e085957')).toBe(
      '55bc6565-aeb6-5e60-b481-402f4563bae2',
    );
  });

  it('is a valid v5 UUID (version nibble 5, variant 10xx) and deterministic', () => {
    fc.assert(
      fc.property(guid(), guid(), (tenantId, objectId) => {
        const id = personIdFor(tenantId, objectId);
        expect(id).toMatch(RFC_9562_V5);
        expect(personIdFor(tenantId, objectId)).toBe(id);
      }),
    );
  });

  it('ignores the case of the tenant id and the object id', () => {
    fc.assert(
      fc.property(guid(), guid(), (tenantId, objectId) => {
        expect(personIdFor(tenantId.toUpperCase(), objectId.toUpperCase())).toBe(
          personIdFor(tenantId.toLowerCase(), objectId.toLowerCase()),
        );
      }),
    );
  });

  it('gives distinct ids to distinct object ids, and to the same object id in distinct tenants', () => {
    fc.assert(
      fc.property(guid(), guid(), guid(), (tenantId, a, b) => {
        fc.pre(a.toLowerCase() !== b.toLowerCase());
        expect(personIdFor(tenantId, a)).not.toBe(personIdFor(tenantId, b));
        expect(personIdFor(a, tenantId)).not.toBe(personIdFor(b, tenantId));
      }),
    );
  });

  it('never gives a person the id of a team built from the same ids', () => {
    fc.assert(
      fc.property(guid(), guid(), (tenantId, objectId) => {
        expect(teamIdFor(tenantId, objectId)).toMatch(RFC_9562_V5);
        expect(teamIdFor(tenantId, objectId)).not.toBe(personIdFor(tenantId, objectId));
      }),
    );
  });
});
