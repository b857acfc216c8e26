import { z } from 'zod';

import type {
  DirectoryChange,
  EdgeChange,
  GroupChange,
  JsonValue,
  MemberType,
  UserChange,
  UserFacts,
} from '../../domain/directory.js';
import { DIRECTORY_EXTENSION_PATTERN, MIRRORED_MORE_PROPERTIES } from '../../domain/mirrored-properties.js';
import { jsonValueSchema } from '../../usecases/messages.js';

/**
 * Parses one item of a Graph delta page into directory changes. A bad item is refused with a reason
 * (the caller records it as invalid data) and never stops the page.
 */
const removed = z.object({ reason: z.enum(['changed', 'deleted']) }).loose();
const text = z.string().nullish();
const reference = z
  .object({ id: z.string().min(1), '@odata.type': z.string().optional(), '@removed': removed.optional() })
  .loose();

const userItem = z
  .object({
    id: z.string().min(1),
    '@removed': removed.optional(),
    'manager@delta': z.array(reference).optional(),
    displayName: text,
    givenName: text,
    surname: text,
    mail: text,
    userPrincipalName: text,
    jobTitle: text,
    department: text,
    officeLocation: text,
    employeeId: text,
    employeeHireDate: text,
    accountEnabled: z.boolean().nullish(),
    userType: text,
    proxyAddresses: z.array(z.string()).nullish(),
    onPremisesExtensionAttributes: z.record(z.string(), z.string().nullable()).nullish(),
    ...Object.fromEntries(MIRRORED_MORE_PROPERTIES.map((name) => [name, jsonValueSchema.nullish()])),
  })
  .loose();

const groupItem = z
  .object({
    id: z.string().min(1),
    '@removed': removed.optional(),
    'members@delta': z.array(reference).optional(),
    displayName: text,
    description: text,
    mailNickname: text,
  })
  .loose();

export type ParsedItem =
  | { readonly ok: true; readonly changes: DirectoryChange[] }
  | { readonly ok: false; readonly objectId: string | null; readonly reason: string };

/**
 * `full`: the item comes from a full round (the initial request of a delta cycle), where every user
 * is described whole, so a user without `manager@delta` has no manager.
 */
export function parseUserItem(raw: unknown, version: string, options: { full?: boolean } = {}): ParsedItem {
  const parsed = userItem.safeParse(raw);
  if (!parsed.success) return refused(raw, parsed.error);
  const item = parsed.data;
  if (item['@removed']) {
    return {
      ok: true,
      changes: [{ kind: 'user', id: item.id, version, removed: deletionOf(item['@removed'].reason) }],
    };
  }
  const facts: UserFacts = {
    displayName: item.displayName ?? null,
    givenName: item.givenName ?? null,
    surname: item.surname ?? null,
    mail: item.mail ?? null,
    userPrincipalName: item.userPrincipalName ?? null,
    jobTitle: item.jobTitle ?? null,
    department: item.department ?? null,
    officeLocation: item.officeLocation ?? null,
    employeeId: item.employeeId ?? null,
    employeeHireDate: item.employeeHireDate ?? null,
    accountEnabled: item.accountEnabled ?? null,
    userType: item.userType ?? null,
    proxyAddresses: item.proxyAddresses ?? [],
    ...extensionAttributesOf(item.onPremisesExtensionAttributes),
    ...moreOf(item),
  };
  const change: UserChange = {
    kind: 'user',
    id: item.id,
    version,
    facts,
    ...managerOf(item['manager@delta'], options.full === true),
  };
  return { ok: true, changes: [change] };
}

export function parseGroupItem(raw: unknown, version: string): ParsedItem {
  const parsed = groupItem.safeParse(raw);
  if (!parsed.success) return refused(raw, parsed.error);
  const item = parsed.data;
  if (item['@removed']) {
    const change: GroupChange = {
      kind: 'group',
      id: item.id,
      version,
      removed: deletionOf(item['@removed'].reason),
    };
    return { ok: true, changes: [change] };
  }
  const changes: DirectoryChange[] = [];
  // A large group's later pages repeat the group with only the next slice of members: the properties
  // are then absent, and only the membership changes apply.
  if ('displayName' in item || 'description' in item || 'mailNickname' in item || !item['members@delta']) {
    changes.push({
      kind: 'group',
      id: item.id,
      version,
      facts: {
        displayName: item.displayName ?? null,
        description: item.description ?? null,
        mailNickname: item.mailNickname ?? null,
      },
    });
  }
  for (const member of item['members@delta'] ?? []) {
    const memberType = memberTypeOf(member['@odata.type']);
    // Devices, service principals and contacts are members too, but never people or teams.
    if (memberType === undefined) continue;
    const edge: EdgeChange = {
      kind: 'edge',
      groupId: item.id,
      memberId: member.id,
      memberType,
      present: member['@removed'] === undefined,
      version,
    };
    changes.push(edge);
  }
  return { ok: true, changes };
}

/** Only the attributes that hold a value (absent = null), and none at all when every one is null. */
function extensionAttributesOf(
  attributes: Record<string, string | null> | null | undefined,
): Pick<UserFacts, 'onPremisesExtensionAttributes'> {
  const set = Object.entries(attributes ?? {}).filter(([, value]) => value !== null && value !== '');
  return set.length > 0 ? { onPremisesExtensionAttributes: Object.fromEntries(set) } : {};
}

/**
 * The other selected properties and the directory extensions (`extension_<appId>_<name>`) that hold a
 * value, by Graph name; a null or absent one is left out (absent = null), which keeps rows small.
 */
function moreOf(item: Record<string, unknown>): Pick<UserFacts, 'more'> {
  const more: Record<string, JsonValue> = {};
  for (const name of MIRRORED_MORE_PROPERTIES) {
    const value = item[name] as JsonValue | null | undefined;
    if (value !== null && value !== undefined) more[name] = value;
  }
  for (const [name, raw] of Object.entries(item)) {
    if (!DIRECTORY_EXTENSION_PATTERN.test(name) || raw === null || raw === undefined) continue;
    const value = jsonValueSchema.safeParse(raw);
    if (value.success) more[name] = value.data;
  }
  return Object.keys(more).length > 0 ? { more } : {};
}

function managerOf(
  managerDelta: z.infer<typeof reference>[] | undefined,
  full: boolean,
): { manager?: string | null } {
  if (managerDelta === undefined) return full ? { manager: null } : {};
  const current = managerDelta.find((entry) => entry['@removed'] === undefined);
  return { manager: current ? current.id : null };
}

/** Graph omits `@odata.type` in some answers; a member without one is taken as a user. */
function memberTypeOf(odataType: string | undefined): MemberType | undefined {
  const type = odataType?.toLowerCase();
  if (type === undefined || type === '#microsoft.graph.user') return 'user';
  if (type === '#microsoft.graph.group') return 'group';
  return undefined;
}

function deletionOf(reason: 'changed' | 'deleted'): 'soft' | 'hard' {
  return reason === 'changed' ? 'soft' : 'hard';
}

function refused(raw: unknown, error: z.ZodError): ParsedItem {
  const id =
    typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string'
      ? (raw as { id: string }).id
      : null;
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { ok: false, objectId: id, reason: `Graph item refused: ${where}${issue?.message ?? 'invalid'}` };
}
