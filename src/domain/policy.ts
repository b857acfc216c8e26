import { z } from 'zod';

import { scheduleSchema } from './schedule-schema.js';

/**
 * The admin's rules for one connection (the `policy` of its settings): who is in scope, how Entra's
 * values meet the app's edits, what is mapped where, which groups become teams, and the photo pass.
 * Parsed with this one schema at every boundary (the settings API, the connections table).
 */
const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a GUID')
  .transform((id) => id.toLowerCase());

export const MERGE_STRATEGIES = ['entra-wins', 'app-wins', 'skip-conflicts'] as const;
export type MergeStrategy = (typeof MERGE_STRATEGIES)[number];

export const WRITE_WHEN = ['always', 'on-create', 'if-empty'] as const;
export type WriteWhen = (typeof WRITE_WHEN)[number];

export const MEMBER_MODES = ['direct', 'transitive'] as const;
export type MemberMode = (typeof MEMBER_MODES)[number];

/** The app's built-in person fields that mappings may fill (the default mapping fills all of them). */
export const PERSON_FIELDS = [
  'displayName',
  'givenName',
  'surname',
  'email',
  'jobTitle',
  'department',
  'officeLocation',
  'employeeId',
  'hireDate',
] as const;
export type PersonField = (typeof PERSON_FIELDS)[number];

/**
 * Where a mapped value comes from, in the mirror: a user property by its Graph name
 * (`department`, `city`, …), `onPremisesExtensionAttributes.extensionAttribute1`…`15`, a directory
 * extension (`extension_<appId>_<name>`) or a custom security attribute
 * (`customSecurityAttributes.<set>.<attribute>`).
 */
export const sourcePathSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^([A-Za-z][A-Za-z0-9]*|onPremisesExtensionAttributes\.extensionAttribute([1-9]|1[0-5])|extension_[0-9a-f]{32}_[A-Za-z0-9_]+|customSecurityAttributes\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+)$/,
    'expected a Graph user property, onPremisesExtensionAttributes.extensionAttributeN, extension_<appId>_<name> or customSecurityAttributes.<set>.<attribute>',
  );

const customPropertyName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'expected a custom property name (letters, digits, _)');

export const mappingSchema = z
  .object({
    source: sourcePathSchema,
    target: z.union([
      z.object({ field: z.enum(PERSON_FIELDS) }).strict(),
      z.object({ customProperty: customPropertyName }).strict(),
    ]),
    when: z.enum(WRITE_WHEN).default('always'),
  })
  .strict();
export type Mapping = z.infer<typeof mappingSchema>;

export const teamMappingSchema = z
  .object({
    /** The Entra group whose members fill the team. */
    groupId: guid,
    /** An existing app team (GET /api/teams). */
    teamId: z.string().min(1).max(64),
    members: z.enum(MEMBER_MODES).default('direct'),
  })
  .strict();
export type TeamMapping = z.infer<typeof teamMappingSchema>;

export const policySchema = z
  .object({
    scope: z
      .object({
        /** Members of any of these groups, transitively through nested groups; empty = everyone. */
        groups: z.array(guid).max(500).default([]),
        /** A Graph `$filter` (the subset in src/domain/user-filter.ts), evaluated locally on the mirror. */
        filter: z.string().max(4_000).nullable().default(null),
        /** Contains-text rules on mail and userPrincipalName, case-insensitive; exclude wins. */
        emailInclude: z.array(z.string().min(1).max(254)).max(100).default([]),
        emailExclude: z.array(z.string().min(1).max(254)).max(100).default([]),
      })
      .strict()
      .default({ groups: [], filter: null, emailInclude: [], emailExclude: [] }),
    mergeStrategy: z.enum(MERGE_STRATEGIES).default('entra-wins'),
    /**
     * Per built-in field, when sync writes it (the default mapping's source stays); absent = always.
     */
    fieldWrites: z.partialRecord(z.enum(PERSON_FIELDS), z.enum(WRITE_WHEN)).default({}),
    /** Custom mappings, applied after the defaults (a mapping to a built-in field replaces its default). */
    mappings: z.array(mappingSchema).max(200).default([]),
    teams: z
      .object({
        /** Which Entra groups become app teams of their own, kept equal to the group's members. */
        groupSync: z
          .object({
            mode: z.enum(['all', 'selected', 'none']).default('all'),
            groups: z.array(guid).max(5_000).default([]),
            members: z.enum(MEMBER_MODES).default('direct'),
          })
          .strict()
          .default({ mode: 'all', groups: [], members: 'direct' }),
        /** Entra groups whose members fill an existing app team. */
        mappings: z.array(teamMappingSchema).max(500).default([]),
      })
      .strict()
      .default({ groupSync: { mode: 'all', groups: [], members: 'direct' }, mappings: [] }),
    /**
     * The gate (guard.ts): a run that would take more people out of the directory than `maxDeletions`,
     * or than `maxShare` of it (from `minChangesForShare` such changes up), is held for an admin's
     * approval; `review` holds every change of every run. Held changes wait `heldLifetimeDays`.
     */
    gate: z
      .object({
        maxDeletions: z.number().int().min(0).default(500),
        maxShare: z.number().min(0).max(1).default(0.2),
        minChangesForShare: z.number().int().min(0).default(10),
        review: z.boolean().default(false),
        heldLifetimeDays: z.number().int().min(1).max(90).default(7),
      })
      .strict()
      .default({
        maxDeletions: 500,
        maxShare: 0.2,
        minChangesForShare: 10,
        review: false,
        heldLifetimeDays: 7,
      }),
    photos: z
      .object({
        enabled: z.boolean().default(true),
        /** When the photo pass runs besides after every full reconciliation (null = only then). */
        schedule: scheduleSchema.nullable().default(null),
      })
      .strict()
      .default({ enabled: true, schedule: null }),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

/** The default policy: every member user, Entra wins, the default mapping, every group a team. */
export const DEFAULT_POLICY: Policy = policySchema.parse({});
