/**
 * The tenant mutations tests and the demo drive (`StandinControl` methods, `/_standin/ops`, `bulk`), as one
 * zod-validated operation type applied in one place.
 */
import { z } from 'zod';

import { EMPTY_EXTENSION_ATTRIBUTES } from '../tenant/generator.js';
import { TenantError, type TenantStore } from '../tenant/tenant-store.js';
import type { JsonObject, JsonValue } from '../tenant/types.js';

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(jsonValue),
    z.record(z.string(), jsonValue),
  ]),
);
const jsonObject = z.record(z.string(), jsonValue);

export const operationSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('hire'),
    user: jsonObject.default({}),
    managerId: z.string().nullish(),
    withPhoto: z.boolean().optional(),
  }),
  z.object({ op: z.literal('disable'), id: z.string() }),
  z.object({ op: z.literal('enable'), id: z.string() }),
  z.object({ op: z.literal('softDelete'), id: z.string() }),
  z.object({ op: z.literal('restore'), id: z.string() }),
  z.object({ op: z.literal('hardDelete'), id: z.string() }),
  z.object({
    op: z.literal('rename'),
    id: z.string(),
    displayName: z.string().optional(),
    givenName: z.string().nullable().optional(),
    surname: z.string().nullable().optional(),
  }),
  z.object({ op: z.literal('changeMail'), id: z.string(), mail: z.string().nullable() }),
  z.object({ op: z.literal('moveDepartment'), id: z.string(), department: z.string().nullable() }),
  z.object({ op: z.literal('setManager'), id: z.string(), managerId: z.string().nullable() }),
  z.object({ op: z.literal('updateUser'), id: z.string(), changes: jsonObject }),
  z.object({ op: z.literal('setPhoto'), id: z.string(), base64: z.string().nullable() }),
  /** Sets some of extensionAttribute1…15 (the others keep their values). */
  z.object({
    op: z.literal('setExtensionAttributes'),
    id: z.string(),
    attributes: z.record(z.string().regex(/^extensionAttribute([1-9]|1[0-5])$/), z.string().nullable()),
  }),
  /** Replaces the user's custom security attributes (null: none), as Graph returns them. */
  z.object({
    op: z.literal('setSecurityAttributes'),
    id: z.string(),
    attributes: z.record(z.string(), jsonObject).nullable(),
  }),
  z.object({ op: z.literal('addMember'), groupId: z.string(), memberId: z.string() }),
  z.object({ op: z.literal('removeMember'), groupId: z.string(), memberId: z.string() }),
  z.object({ op: z.literal('nestGroup'), parentId: z.string(), childId: z.string() }),
  z.object({
    op: z.literal('createGroup'),
    group: jsonObject.default({}),
    memberIds: z.array(z.string()).optional(),
  }),
  z.object({ op: z.literal('updateGroup'), id: z.string(), changes: jsonObject }),
  z.object({ op: z.literal('deleteGroup'), id: z.string() }),
]);

export type TenantOperation = z.input<typeof operationSchema>;

export interface OperationContext {
  readonly store: TenantStore;
  readonly domain: string;
}

let hireCounter = 0;

/** Applies one operation; returns the id of the object it created or changed. */
export function applyOperation(context: OperationContext, input: TenantOperation): { id: string } {
  const op = operationSchema.parse(input);
  const { store } = context;
  switch (op.op) {
    case 'hire': {
      const props = newUserProps(op.user, context.domain);
      const photo = op.withPhoto ? { etag: `"${crypto.randomUUID()}"` } : null;
      const id = typeof op.user.id === 'string' ? op.user.id : undefined;
      delete props.id;
      return {
        id: store.addUser({ ...(id ? { id } : {}), props, managerId: op.managerId ?? null, photo }).id,
      };
    }
    case 'disable':
      return { id: store.updateUser(op.id, { accountEnabled: false }).id };
    case 'enable':
      return { id: store.updateUser(op.id, { accountEnabled: true }).id };
    case 'softDelete':
      store.softDelete(op.id);
      return { id: op.id };
    case 'restore':
      return { id: store.restore(op.id).id };
    case 'hardDelete':
      store.hardDelete(op.id);
      return { id: op.id };
    case 'rename': {
      const changes: JsonObject = {};
      if (op.displayName !== undefined) changes.displayName = op.displayName;
      if (op.givenName !== undefined) changes.givenName = op.givenName;
      if (op.surname !== undefined) changes.surname = op.surname;
      if (op.displayName === undefined && (op.givenName !== undefined || op.surname !== undefined)) {
        const user = store.requireUser(op.id);
        const given = op.givenName !== undefined ? op.givenName : user.props.givenName;
        const surname = op.surname !== undefined ? op.surname : user.props.surname;
        changes.displayName = [given, surname]
          .filter((p): p is string => typeof p === 'string' && p.length > 0)
          .join(' ');
      }
      return { id: store.updateUser(op.id, changes).id };
    }
    case 'changeMail':
      return { id: store.updateUser(op.id, { mail: op.mail }).id };
    case 'moveDepartment':
      return { id: store.updateUser(op.id, { department: op.department }).id };
    case 'setManager':
      return { id: store.setManager(op.id, op.managerId).id };
    case 'updateUser':
      return { id: store.updateUser(op.id, op.changes).id };
    case 'setPhoto':
      return {
        id: store.setPhoto(
          op.id,
          op.base64 === null
            ? null
            : { etag: `"${crypto.randomUUID()}"`, bytes: Buffer.from(op.base64, 'base64') },
        ).id,
      };
    case 'setExtensionAttributes': {
      const current = store.requireUser(op.id).props.onPremisesExtensionAttributes;
      const base =
        current && typeof current === 'object' && !Array.isArray(current)
          ? current
          : EMPTY_EXTENSION_ATTRIBUTES;
      return {
        id: store.updateUser(op.id, { onPremisesExtensionAttributes: { ...base, ...op.attributes } }).id,
      };
    }
    case 'setSecurityAttributes':
      return { id: store.updateUser(op.id, { customSecurityAttributes: op.attributes }).id };
    case 'addMember':
      store.addMember(op.groupId, op.memberId);
      return { id: op.groupId };
    case 'removeMember':
      store.removeMember(op.groupId, op.memberId);
      return { id: op.groupId };
    case 'nestGroup':
      if (!store.findGroup(op.childId))
        throw new TenantError(404, 'Request_ResourceNotFound', `Group '${op.childId}' does not exist.`);
      store.addMember(op.parentId, op.childId);
      return { id: op.parentId };
    case 'createGroup': {
      const props = { ...op.group };
      const id = typeof props.id === 'string' ? props.id : undefined;
      delete props.id;
      const displayName =
        typeof props.displayName === 'string' ? props.displayName : `Group ${++hireCounter}`;
      const group = store.createGroup({
        ...(id ? { id } : {}),
        props: { displayName, mailNickname: displayName.replace(/[^A-Za-z0-9]/g, ''), ...props },
        members: op.memberIds ?? [],
      });
      return { id: group.id };
    }
    case 'updateGroup':
      return { id: store.updateGroup(op.id, op.changes).id };
    case 'deleteGroup':
      store.deleteGroup(op.id);
      return { id: op.id };
  }
}

/** A new member user: every property the generator sets, defaults derived from the names given. */
function newUserProps(partial: JsonObject, domain: string): JsonObject {
  const n = ++hireCounter;
  const given = typeof partial.givenName === 'string' ? partial.givenName : 'New';
  const surname = typeof partial.surname === 'string' ? partial.surname : `Hire${n}`;
  const local = `${given}.${surname}`.toLowerCase().replace(/[^a-z0-9.]/g, '');
  const upn =
    typeof partial.userPrincipalName === 'string'
      ? partial.userPrincipalName
      : `${local}.${Date.now().toString(36)}${n}@${domain}`;
  return {
    accountEnabled: true,
    businessPhones: [],
    city: null,
    companyName: 'Contoso Ltd',
    country: null,
    customSecurityAttributes: null,
    department: null,
    displayName: `${given} ${surname}`,
    employeeHireDate: null,
    employeeId: null,
    employeeType: 'Employee',
    givenName: given,
    jobTitle: null,
    mail: upn.includes('#EXT#') ? null : upn,
    mobilePhone: null,
    officeLocation: null,
    onPremisesExtensionAttributes: EMPTY_EXTENSION_ATTRIBUTES,
    preferredLanguage: 'en-US',
    proxyAddresses: upn.includes('#EXT#') ? [] : [`SMTP:${upn}`],
    surname,
    usageLocation: null,
    userPrincipalName: upn,
    userType: 'Member',
    ...partial,
  };
}
