/**
 * Deterministic tenant generator: the same seed gives the same directory. Name pools are drawn once from
 * faker, then every user is assembled from the seeded PRNG (fast enough for 200,000 users).
 */
import { base, en, Faker } from '@faker-js/faker';

import { SeededRandom } from './seeded-random.js';
import { isoSeconds, type TenantStore } from './tenant-store.js';
import { type GroupEntry, type JsonObject, text, type UserEntry } from './types.js';

export interface GeneratorOptions {
  readonly seed: number;
  readonly users: number;
  /** Defaults to round(users / 20), at least 1 when there are users. */
  readonly groups?: number;
  /** Verified domain for member UPNs, e.g. `contoso.com`. */
  readonly domain?: string;
  /** App id (no dashes) owning the directory extensions, e.g. `extension_<id>_costCenter`. */
  readonly extensionAppId: string;
}

export interface GeneratedTenantInfo {
  readonly users: number;
  readonly groups: number;
  readonly departments: readonly string[];
  readonly costCenterProperty: string;
  readonly divisionProperty: string;
  /** Wall-clock time the generation took. */
  readonly generationMs: number;
}

const DEPARTMENTS = [
  'Engineering',
  'Sales',
  'Marketing',
  'Finance',
  'Human Resources',
  'Operations',
  'Customer Success',
  'Legal',
  'Product',
  'IT',
];
const TITLES_BY_LEVEL = [
  ['Chief Executive Officer'],
  ['Vice President'],
  ['Director', 'Senior Director'],
  ['Senior Manager', 'Manager'],
  ['Manager', 'Team Lead'],
  ['Team Lead', 'Senior Specialist'],
  ['Specialist', 'Analyst', 'Engineer', 'Associate', 'Consultant'],
];
const OFFICES: ReadonlyArray<readonly [city: string, country: string, usage: string]> = [
  ['Seattle', 'United States', 'US'],
  ['New York', 'United States', 'US'],
  ['London', 'United Kingdom', 'GB'],
  ['Paris', 'France', 'FR'],
  ['Berlin', 'Germany', 'DE'],
  ['Amsterdam', 'Netherlands', 'NL'],
  ['Toronto', 'Canada', 'CA'],
  ['Sydney', 'Australia', 'AU'],
  ['Singapore', 'Singapore', 'SG'],
  ['Madrid', 'Spain', 'ES'],
];
/** State or region, postal code prefix and street of each office (the city is in OFFICES). */
const OFFICE_ADDRESSES: Readonly<
  Record<string, readonly [state: string | null, postal: string, street: string]>
> = {
  Seattle: ['WA', '981', 'Pine Street'],
  'New York': ['NY', '100', 'Broadway'],
  London: [null, 'EC1A ', 'Aldersgate Street'],
  Paris: ['Île-de-France', '750', 'Rue de Rivoli'],
  Berlin: ['Berlin', '101', 'Friedrichstraße'],
  Amsterdam: ['North Holland', '101', 'Damrak'],
  Toronto: ['ON', 'M5V ', 'King Street West'],
  Sydney: ['NSW', '200', 'George Street'],
  Singapore: [null, '0189', 'Marina Boulevard'],
  Madrid: ['Madrid', '280', 'Gran Vía'],
};
const GUEST_DOMAINS = ['fabrikam.com', 'adatum.com', 'litware.com', 'northwind.com', 'tailspin.io'];
const PROJECTS = ['Baker', 'Cascade', 'Denali', 'Everest', 'Fuji', 'Kilimanjaro'];
const EPOCH = Date.UTC(2026, 0, 1);
const DAY_MS = 24 * 3600 * 1000;

/** Shared all-null value: most users have no on-premises extension attributes (copied on write). */
export const EMPTY_EXTENSION_ATTRIBUTES: JsonObject = Object.freeze(
  Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`extensionAttribute${i + 1}`, null])),
);

export function generateTenant(store: TenantStore, options: GeneratorOptions): GeneratedTenantInfo {
  const startedAt = performance.now();
  const random = new SeededRandom(options.seed);
  const domain = options.domain ?? 'contoso.com';
  const tenantDomain = `${domain.split('.')[0]}.onmicrosoft.com`;
  const costCenterProperty = `extension_${options.extensionAppId}_costCenter`;
  const divisionProperty = `extension_${options.extensionAppId}_division`;
  const pools = namePools(options.seed);
  // The properties added after the first tenants were generated draw from their own stream, so a seed
  // still gives the same users, groups and photos as before.
  const extra = new SeededRandom((options.seed ^ 0x6d2b79f5) >>> 0);
  const upns = new Set<string>();

  const userCount = Math.max(0, Math.floor(options.users));
  const members: UserEntry[] = [];
  const guests: UserEntry[] = [];
  for (let i = 0; i < userCount; i++) {
    const given = random.pick(pools.first);
    const surname = random.pick(pools.last);
    const isGuest = i > 0 && random.chance(0.05);
    const id = random.uuid();
    const created = new Date(EPOCH - random.int(1, 3000) * DAY_MS - random.int(0, 86_399) * 1000);
    const [city, country, usage] = random.pick(OFFICES);
    const local = uniqueLocalPart(`${given}.${surname}`.toLowerCase().replace(/[^a-z.]/g, ''), upns);
    const props: JsonObject = {
      accountEnabled: !random.chance(0.03),
      businessPhones: random.chance(0.7)
        ? [`+1 425 555 ${String(random.int(0, 9999)).padStart(4, '0')}`]
        : [],
      city,
      companyName: isGuest ? null : 'Contoso Ltd',
      country,
      createdDateTime: isoSeconds(created),
      deletedDateTime: null,
      department: null,
      displayName: `${given} ${surname}`,
      employeeHireDate: null,
      employeeId: null,
      employeeType: null,
      givenName: given,
      jobTitle: null,
      mail: null,
      mobilePhone: random.chance(0.6) ? `+1 206 555 ${String(random.int(0, 9999)).padStart(4, '0')}` : null,
      officeLocation: `${city}/${random.int(1, 40)}${String(random.int(1, 200)).padStart(3, '0')}`,
      onPremisesExtensionAttributes: EMPTY_EXTENSION_ATTRIBUTES,
      preferredLanguage: random.pick(['en-US', 'en-US', 'en-GB', 'fr-FR', 'de-DE', null]),
      proxyAddresses: [],
      surname,
      usageLocation: usage,
      userPrincipalName: '',
      userType: isGuest ? 'Guest' : 'Member',
      [costCenterProperty]: null,
      [divisionProperty]: null,
      customSecurityAttributes: null,
    };
    if (isGuest) {
      const guestDomain = random.pick(GUEST_DOMAINS);
      props.mail = `${local}@${guestDomain}`;
      props.userPrincipalName = `${local}_${guestDomain}#EXT#@${tenantDomain}`;
      props.proxyAddresses = [`SMTP:${local}@${guestDomain}`];
    } else {
      props.mail = `${local}@${domain}`;
      props.userPrincipalName = `${local}@${domain}`;
      props.proxyAddresses = [`SMTP:${local}@${domain}`, `smtp:${local}@${tenantDomain}`];
      props.employeeId = String(100000 + i);
      props.employeeType = random.chance(0.9) ? 'Employee' : 'Contractor';
      props.employeeHireDate = isoSeconds(
        new Date(Date.parse(text(props.createdDateTime)) + random.int(0, 30) * DAY_MS),
      );
      props[costCenterProperty] = `CC-${random.int(1000, 1099)}`;
      if (random.chance(0.5)) props[divisionProperty] = random.pick(['North', 'South', 'East', 'West']);
      if (random.chance(0.2)) {
        props.onPremisesExtensionAttributes = {
          ...EMPTY_EXTENSION_ATTRIBUTES,
          extensionAttribute1: `CC-${random.int(1000, 1099)}`,
          extensionAttribute2: random.pick(['Grade 5', 'Grade 6', 'Grade 7', 'Grade 8']),
        };
      }
      if (random.chance(0.1)) {
        props.customSecurityAttributes = {
          Engineering: {
            '@odata.type': '#microsoft.graph.customSecurityAttributeValue',
            'Project@odata.type': '#Collection(String)',
            Project: [random.pick(PROJECTS), random.pick(PROJECTS)],
            'CostCenter@odata.type': '#Int32',
            CostCenter: random.int(1000, 1099),
          },
        };
      }
    }
    addProfileDetails(props, extra, { id, isGuest, city, local, domain, tenantDomain });
    const entry: UserEntry = {
      id,
      props,
      managerId: null,
      previousManagerId: null,
      photo: random.chance(0.3) ? { etag: `"${random.uuid()}"` } : null,
      state: 'active',
      groupsBeforeDelete: [],
      createdSeq: 0,
      stateSeq: 0,
      propSeq: null,
    };
    store.loadUser(entry);
    (isGuest ? guests : members).push(entry);
  }

  assignManagerTree(members, random);

  const groupCount = options.groups ?? (userCount > 0 ? Math.max(1, Math.round(userCount / 20)) : 0);
  generateGroups(store, random, members, guests, groupCount, domain);
  return {
    users: userCount,
    groups: groupCount,
    departments: DEPARTMENTS,
    costCenterProperty,
    divisionProperty,
    generationMs: Math.round(performance.now() - startedAt),
  };
}

/**
 * The rest of a realistic profile: address, phones, age group, organisation data, other mails, and
 * for about 40% of members an on-premises identity (synced from Active Directory).
 */
function addProfileDetails(
  props: JsonObject,
  random: SeededRandom,
  user: { id: string; isGuest: boolean; city: string; local: string; domain: string; tenantDomain: string },
): void {
  const [state, postal, street] = OFFICE_ADDRESSES[user.city] ?? [null, '', 'Main Street'];
  props.state = state;
  props.postalCode = `${postal}${String(random.int(0, 99)).padStart(2, '0')}`;
  props.streetAddress = `${random.int(1, 400)} ${street}`;
  props.faxNumber = random.chance(0.05) ? `+1 425 555 ${String(random.int(0, 9999)).padStart(4, '0')}` : null;
  props.ageGroup = random.chance(0.5) ? 'Adult' : null;
  props.consentProvidedForMinor = null;
  props.creationType = user.isGuest ? 'Invitation' : null;
  props.externalUserState = user.isGuest ? random.pick(['Accepted', 'Accepted', 'PendingAcceptance']) : null;
  props.imAddresses = user.isGuest ? [] : [`sip:${user.local}@${user.domain}`];
  props.mailNickname = user.isGuest ? `${user.local}_ext` : user.local;
  props.otherMails = random.chance(0.15) ? [`${user.local}@personal.example`] : [];
  props.showInAddressList = user.isGuest ? false : null;
  props.employeeOrgData = user.isGuest
    ? null
    : {
        division: random.pick(['North', 'South', 'East', 'West']),
        costCenter: `CC-${random.int(1000, 1099)}`,
      };
  const synced = !user.isGuest && random.chance(0.4);
  props.onPremisesSyncEnabled = synced ? true : null;
  props.onPremisesSamAccountName = synced ? user.local.replace(/\./g, '').slice(0, 20) : null;
  props.onPremisesImmutableId = synced
    ? Buffer.from(user.id.replace(/-/g, ''), 'hex').toString('base64')
    : null;
  props.onPremisesDomainName = synced ? `corp.${user.domain}` : null;
  props.onPremisesUserPrincipalName = synced ? `${user.local}@corp.${user.domain}` : null;
  props.onPremisesDistinguishedName = synced
    ? `CN=${user.local},OU=Users,DC=corp,DC=${user.domain.split('.').join(',DC=')}`
    : null;
  props.onPremisesSecurityIdentifier = synced
    ? `S-1-5-21-${random.int(1e8, 4e9)}-${random.int(1e8, 4e9)}-${random.int(1e8, 4e9)}-${random.int(1000, 99999)}`
    : null;
  props.onPremisesLastSyncDateTime = synced
    ? isoSeconds(new Date(EPOCH - random.int(0, 86_399) * 1000))
    : null;
}

/** CEO, then breadth-first spans of 5 to 10 reports: 100,000 members gives 6 to 7 levels. */
function assignManagerTree(members: UserEntry[], random: SeededRandom): void {
  if (members.length === 0) return;
  const levels = new Map<string, number>();
  const ceo = members[0]!;
  setRole(ceo, 0, 'Executive', random);
  levels.set(ceo.id, 0);
  const queue: UserEntry[] = [ceo];
  let next = 1;
  let head = 0;
  while (next < members.length && head < queue.length) {
    const manager = queue[head++]!;
    const level = levels.get(manager.id)!;
    const span = random.int(5, 10);
    for (let k = 0; k < span && next < members.length; k++) {
      const report = members[next++]!;
      report.managerId = manager.id;
      const department =
        level === 0 ? DEPARTMENTS[k % DEPARTMENTS.length]! : text(manager.props.department ?? 'Operations');
      setRole(report, level + 1, department, random);
      levels.set(report.id, level + 1);
      queue.push(report);
    }
  }
}

function setRole(user: UserEntry, level: number, department: string, random: SeededRandom): void {
  const titles = TITLES_BY_LEVEL[Math.min(level, TITLES_BY_LEVEL.length - 1)]!;
  user.props.department = department;
  user.props.jobTitle = level === 1 ? `Vice President, ${department}` : random.pick(titles);
}

function generateGroups(
  store: TenantStore,
  random: SeededRandom,
  members: readonly UserEntry[],
  guests: readonly UserEntry[],
  groupCount: number,
  domain: string,
): void {
  if (groupCount === 0) return;
  const created: GroupEntry[] = [];
  const make = (displayName: string, description: string | null, unified: boolean): GroupEntry => {
    const nickname = uniqueNickname(displayName, created.length);
    const group: GroupEntry = {
      id: random.uuid(),
      props: {
        createdDateTime: isoSeconds(new Date(EPOCH - random.int(1, 2000) * DAY_MS)),
        description,
        displayName,
        groupTypes: unified ? ['Unified'] : [],
        mail: unified ? `${nickname}@${domain}` : null,
        mailEnabled: unified,
        mailNickname: nickname,
        securityEnabled: !unified,
      },
      members: new Set(),
      memberLog: [],
      state: 'active',
      createdSeq: 0,
      stateSeq: 0,
      propSeq: null,
    };
    store.loadGroup(group);
    created.push(group);
    return group;
  };

  const all = make('All Company', 'This is the default group for everyone in the network', true);
  const departmentGroups = new Map<string, GroupEntry>();
  for (const department of DEPARTMENTS) {
    if (created.length >= groupCount) break;
    const group = make(`sg-${department}`, `All ${department} personnel`, false);
    departmentGroups.set(department, group);
    all.members.add(group.id);
  }
  for (const user of members) {
    departmentGroups.get(text(user.props.department))?.members.add(user.id);
  }
  const teamsStart = created.length;
  while (created.length < groupCount) {
    const index = created.length - teamsStart + 1;
    const team = make(
      `Team ${index} ${random.pick(PROJECTS)}`,
      random.chance(0.7) ? `Project team ${index}` : null,
      random.chance(0.2),
    );
    const size = random.int(5, 60);
    for (let k = 0; k < size && members.length > 0; k++) team.members.add(random.pick(members).id);
    if (guests.length > 0 && random.chance(0.2)) team.members.add(random.pick(guests).id);
    if (index > 3 && random.chance(0.1)) {
      const nestedCount = random.int(1, 3);
      for (let k = 0; k < nestedCount; k++) {
        const child = created[random.int(teamsStart, created.length - 2)];
        if (child && child.id !== team.id) team.members.add(child.id);
      }
    }
  }
}

function namePools(seed: number): { first: string[]; last: string[] } {
  const faker = new Faker({ locale: [en, base] });
  faker.seed(seed);
  const first = new Set<string>();
  const last = new Set<string>();
  for (let i = 0; i < 600; i++) first.add(faker.person.firstName());
  for (let i = 0; i < 1500; i++) last.add(faker.person.lastName());
  return { first: [...first], last: [...last] };
}

function uniqueLocalPart(candidate: string, used: Set<string>): string {
  let local = candidate.length > 1 ? candidate : 'user';
  let n = 1;
  while (used.has(local)) local = `${candidate}${++n}`;
  used.add(local);
  return local;
}

function uniqueNickname(displayName: string, index: number): string {
  return `${displayName.replace(/[^A-Za-z0-9]/g, '')}${index}`;
}
