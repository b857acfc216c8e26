import { hash } from 'node:crypto';

/**
 * A person synced from Entra gets an id derived from the tenant and the user's objectId (a name-based
 * UUID, RFC 9562 version 5), so the link person ↔ Entra user is stable forever: a replayed creation,
 * a resync after an expired delta token or a restore from soft delete lands on the same person.
 */
export function personIdFor(tenantId: string, objectId: string): string {
  return nameBasedUuid(`person:${tenantId.toLowerCase()}:${objectId.toLowerCase()}`);
}

export function teamIdFor(tenantId: string, groupId: string): string {
  return nameBasedUuid(`team:${tenantId.toLowerCase()}:${groupId.toLowerCase()}`);
}

const NAMESPACE = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex'); // RFC 9562 URL namespace

/** SHA-1 over the namespace and the name, in one call (`crypto.hash`: half the cost of a `Hash` object). */
function nameBasedUuid(name: string): string {
  const input = Buffer.allocUnsafe(NAMESPACE.length + Buffer.byteLength(name, 'utf8'));
  NAMESPACE.copy(input, 0);
  input.write(name, NAMESPACE.length, 'utf8');
  const bytes = hash('sha1', input, 'buffer');
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
