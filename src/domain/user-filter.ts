/**
 * The scope's `$filter`: a documented subset of Microsoft Graph's OData `$filter` on users, parsed when
 * the settings are saved (an unsupported expression is refused with its position and the reason) and
 * evaluated locally on the mirror, never sent to Graph.
 *
 * The subset:
 * - comparisons `prop eq value`, `prop ne value`, `prop in (value, …)`, `startswith(prop, 'text')`;
 * - lambdas on collections: `proxyAddresses/any(p:p eq 'text')`, `proxyAddresses/any(p:startswith(p,'text'))`
 *   (also `businessPhones`, `otherMails`, `imAddresses`, and multi-valued directory extensions);
 * - `and`, `or`, `not(…)`, parentheses; `and` binds tighter than `or`;
 * - literals: 'text' ('' is a quote), true, false, null, numbers (directory extensions only), and
 *   unquoted date-times `2020-01-15T00:00:00Z` (for date-time properties);
 * - properties, by their Graph name in any case: the user properties in `FILTERABLE_USER_PROPERTIES`,
 *   `onPremisesExtensionAttributes/extensionAttribute1`…`15`, directory extensions
 *   `extension_<32 hex>_<name>`.
 * Refused (each with its position): other functions (`endswith`, `contains`, …), other operators (`gt`,
 * `lt`, `ge`, `le`, `has`, arithmetic), `$count`, unknown properties, a value of the wrong type for its
 * property (`accountEnabled eq 'true'`), `eq` on a collection (use `any`), `startswith` on a non-text.
 *
 * Semantics, as Graph's: text comparisons (`eq`, `ne`, `in`, `startswith`, lambdas) ignore case;
 * `prop eq null` holds when the value is null or absent, `prop ne null` when it is not; `ne v` is exactly
 * `not(eq v)` (so a null value is `ne 'x'`); date-times compare as instants.
 */

export type FilterLiteral = string | number | boolean | null | { readonly dateTime: string };

export type UserFilter =
  | { readonly kind: 'and' | 'or'; readonly left: UserFilter; readonly right: UserFilter }
  | { readonly kind: 'not'; readonly operand: UserFilter }
  | { readonly kind: 'eq' | 'ne'; readonly path: string; readonly value: FilterLiteral }
  | { readonly kind: 'in'; readonly path: string; readonly values: readonly FilterLiteral[] }
  | { readonly kind: 'startswith'; readonly path: string; readonly prefix: string }
  | {
      readonly kind: 'any';
      readonly path: string;
      readonly predicate:
        | { readonly op: 'eq'; readonly value: string }
        | { readonly op: 'startswith'; readonly prefix: string };
    };

export type FilterParse = { ok: true; filter: UserFilter } | { ok: false; position: number; reason: string };

export type PropertyType = 'string' | 'boolean' | 'dateTime' | 'collection';

/** The user properties the filter may name (Graph names), with their types. */
export const FILTERABLE_USER_PROPERTIES: Readonly<Record<string, PropertyType>> = {
  id: 'string',
  displayName: 'string',
  givenName: 'string',
  surname: 'string',
  mail: 'string',
  mailNickname: 'string',
  userPrincipalName: 'string',
  jobTitle: 'string',
  department: 'string',
  officeLocation: 'string',
  employeeId: 'string',
  employeeType: 'string',
  employeeHireDate: 'dateTime',
  accountEnabled: 'boolean',
  userType: 'string',
  companyName: 'string',
  city: 'string',
  country: 'string',
  state: 'string',
  postalCode: 'string',
  streetAddress: 'string',
  usageLocation: 'string',
  mobilePhone: 'string',
  preferredLanguage: 'string',
  onPremisesSamAccountName: 'string',
  onPremisesUserPrincipalName: 'string',
  onPremisesSyncEnabled: 'boolean',
  proxyAddresses: 'collection',
  businessPhones: 'collection',
  otherMails: 'collection',
  imAddresses: 'collection',
};

const PROPERTY_BY_LOWER = new Map(
  Object.keys(FILTERABLE_USER_PROPERTIES).map((name) => [name.toLowerCase(), name]),
);
const EXTENSION_ATTRIBUTE = /^onpremisesextensionattributes\/extensionattribute([1-9]|1[0-5])$/i;
const DIRECTORY_EXTENSION = /^extension_([0-9a-f]{32})_([A-Za-z0-9_]+)$/i;
const MAX_DEPTH = 64;

type Resolved = { readonly path: string; readonly type: PropertyType | 'extension' };

/** A property as written → its canonical read path and type, or undefined when the filter cannot name it. */
export function resolveFilterProperty(written: string): Resolved | undefined {
  const known = PROPERTY_BY_LOWER.get(written.toLowerCase());
  if (known !== undefined) return { path: known, type: FILTERABLE_USER_PROPERTIES[known]! };
  const attribute = EXTENSION_ATTRIBUTE.exec(written);
  if (attribute)
    return { path: `onPremisesExtensionAttributes.extensionAttribute${attribute[1]}`, type: 'string' };
  const extension = DIRECTORY_EXTENSION.exec(written);
  if (extension) return { path: written.toLowerCase(), type: 'extension' };
  return undefined;
}

// ---------------------------------------------------------------------------------------------- tokens

type Token =
  | { readonly t: 'str'; readonly v: string; readonly at: number }
  | { readonly t: 'num'; readonly v: number; readonly at: number }
  | { readonly t: 'date'; readonly v: string; readonly at: number }
  | { readonly t: 'word'; readonly v: string; readonly at: number }
  | { readonly t: '(' | ')' | ',' | ':' | 'end'; readonly at: number };

class FilterError extends Error {
  constructor(
    readonly position: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})/i;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_$][A-Za-z0-9_]*)*/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === ':') {
      tokens.push({ t: c, at: i });
      i++;
      continue;
    }
    if (c === "'") {
      const at = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length)
          throw new FilterError(at, 'a text literal is not closed (a quote is written twice inside one)');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i]!;
        i++;
      }
      tokens.push({ t: 'str', v: value, at });
      continue;
    }
    const rest = text.slice(i);
    const date = DATE_TIME.exec(rest);
    if (date) {
      if (!Number.isFinite(Date.parse(date[0])))
        throw new FilterError(i, `'${date[0]}' is not a valid date-time`);
      tokens.push({ t: 'date', v: date[0], at: i });
      i += date[0].length;
      continue;
    }
    const dateOnly = /^\d{4}-\d{2}-\d{2}/.exec(rest);
    if (dateOnly) throw new FilterError(i, `a date needs its time and zone: write ${dateOnly[0]}T00:00:00Z`);
    const number = NUMBER.exec(rest);
    if (number && !/^[A-Za-z_]/.test(rest.slice(number[0].length))) {
      tokens.push({ t: 'num', v: Number(number[0]), at: i });
      i += number[0].length;
      continue;
    }
    const word = WORD.exec(rest);
    if (word) {
      const dollar = word[0].indexOf('$');
      if (dollar >= 0)
        throw new FilterError(i + dollar, `'${word[0].slice(dollar)}' is not supported in a scope filter`);
      tokens.push({ t: 'word', v: word[0], at: i });
      i += word[0].length;
      continue;
    }
    if (c === '$') {
      const name = /^\$[A-Za-z]*/.exec(rest)![0];
      throw new FilterError(i, `'${name}' is not supported in a scope filter`);
    }
    throw new FilterError(i, `unexpected character '${c}'`);
  }
  tokens.push({ t: 'end', at: text.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------- parser

const OPERATORS_REFUSED = new Set([
  'gt',
  'lt',
  'ge',
  'le',
  'has',
  'add',
  'sub',
  'mul',
  'div',
  'divby',
  'mod',
]);
const FUNCTIONS_REFUSED = new Set([
  'endswith',
  'contains',
  'substringof',
  'tolower',
  'toupper',
  'trim',
  'length',
  'indexof',
  'substring',
  'concat',
  'year',
  'month',
  'day',
]);

function describeToken(token: Token): string {
  switch (token.t) {
    case 'str':
      return `'${token.v.replace(/'/g, "''")}'`;
    case 'num':
    case 'date':
    case 'word':
      return String(token.v);
    case 'end':
      return 'the end of the filter';
    default:
      return `'${token.t}'`;
  }
}

function literalType(value: FilterLiteral): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a date-time';
  if (typeof value === 'string') return 'a text';
  return `a ${typeof value}`;
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parse(): UserFilter {
    const node = this.or();
    const next = this.peek();
    if (next.t !== 'end') {
      if (next.t === 'word' && OPERATORS_REFUSED.has(next.v.toLowerCase()))
        throw new FilterError(
          next.at,
          `the operator '${next.v}' is not supported (supported: eq, ne, in, startswith)`,
        );
      throw new FilterError(
        next.at,
        `expected 'and', 'or' or the end of the filter, found ${describeToken(next)}`,
      );
    }
    return node;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }

  private take(): Token {
    const token = this.peek();
    if (token.t !== 'end') this.pos++;
    return token;
  }

  private keyword(token: Token): string | undefined {
    return token.t === 'word' ? token.v.toLowerCase() : undefined;
  }

  private expect(t: '(' | ')' | ',' | ':', what: string): Token {
    const token = this.take();
    if (token.t !== t) throw new FilterError(token.at, `expected ${what}, found ${describeToken(token)}`);
    return token;
  }

  private or(): UserFilter {
    let left = this.and();
    while (this.keyword(this.peek()) === 'or') {
      this.take();
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): UserFilter {
    let left = this.unary();
    while (this.keyword(this.peek()) === 'and') {
      this.take();
      left = { kind: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): UserFilter {
    const token = this.peek();
    if (++this.depth > MAX_DEPTH)
      throw new FilterError(token.at, `the filter nests deeper than ${MAX_DEPTH} levels`);
    try {
      if (this.keyword(token) === 'not') {
        this.take();
        const next = this.peek();
        if (next.t !== '(' && this.keyword(next) !== 'not' && !(next.t === 'word' && this.peek(1).t === '('))
          throw new FilterError(
            next.at,
            "'not' applies to a parenthesised expression or a function: write not(…)",
          );
        return { kind: 'not', operand: this.unary() };
      }
      return this.primary();
    } finally {
      this.depth--;
    }
  }

  private primary(): UserFilter {
    const token = this.peek();
    if (token.t === '(') {
      this.take();
      const inner = this.or();
      this.expect(')', "')'");
      return inner;
    }
    if (token.t !== 'word')
      throw new FilterError(
        token.at,
        `expected a property, a function or '(', found ${describeToken(token)}`,
      );
    const lower = token.v.toLowerCase();
    if (this.peek(1).t === '(') {
      if (lower === 'startswith') return this.startsWith();
      if (lower.endsWith('/any')) return this.lambda();
      if (lower.endsWith('/all'))
        throw new FilterError(token.at, `the lambda 'all' is not supported (supported: any)`);
      if (FUNCTIONS_REFUSED.has(lower))
        throw new FilterError(token.at, `the function '${token.v}' is not supported (supported: startswith)`);
      throw new FilterError(token.at, `unknown function '${token.v}' (supported: startswith)`);
    }
    if (['and', 'or', 'eq', 'ne', 'in'].includes(lower))
      throw new FilterError(token.at, `expected a property, found the operator '${token.v}'`);
    const property = this.property();
    const op = this.take();
    const keyword = this.keyword(op);
    if (keyword === 'eq' || keyword === 'ne') {
      const value = this.literalFor(property);
      return { kind: keyword, path: property.path, value };
    }
    if (keyword === 'in') {
      this.expect('(', "'(' after 'in'");
      const values = [this.literalFor(property)];
      while (this.peek().t === ',') {
        this.take();
        values.push(this.literalFor(property));
      }
      this.expect(')', "')' or ',' in the list of values");
      return { kind: 'in', path: property.path, values };
    }
    if (keyword !== undefined && OPERATORS_REFUSED.has(keyword))
      throw new FilterError(
        op.at,
        `the operator '${op.t === 'word' ? op.v : ''}' is not supported (supported: eq, ne, in, startswith)`,
      );
    throw new FilterError(
      op.at,
      `expected 'eq', 'ne' or 'in' after ${property.written}, found ${describeToken(op)}`,
    );
  }

  private property(): Resolved & { written: string; at: number } {
    const token = this.take();
    if (token.t !== 'word')
      throw new FilterError(token.at, `expected a property, found ${describeToken(token)}`);
    const resolved = resolveFilterProperty(token.v);
    if (!resolved) {
      const reason = token.v.toLowerCase().startsWith('customsecurityattributes')
        ? 'custom security attributes cannot be filtered on (delta does not carry them)'
        : `unknown user property '${token.v}' (a Graph user property, onPremisesExtensionAttributes/extensionAttribute1…15 or extension_<app id>_<name>)`;
      throw new FilterError(token.at, reason);
    }
    return { ...resolved, written: token.v, at: token.at };
  }

  private literalFor(property: Resolved & { written: string; at: number }): FilterLiteral {
    const token = this.take();
    let value: FilterLiteral;
    if (token.t === 'str') value = token.v;
    else if (token.t === 'num') value = token.v;
    else if (token.t === 'date') value = { dateTime: token.v };
    else {
      const word = this.keyword(token);
      if (word === 'true' || word === 'false') value = word === 'true';
      else if (word === 'null') value = null;
      else
        throw new FilterError(
          token.at,
          `expected a value ('text', true, false, null or a number), found ${describeToken(token)}`,
        );
    }
    if (value === null) {
      if (property.type === 'collection')
        throw new FilterError(
          property.at,
          `${property.written} is a collection: use ${property.written}/any(x:x eq '…')`,
        );
      return value;
    }
    const fits =
      property.type === 'extension'
        ? true
        : property.type === 'string'
          ? typeof value === 'string'
          : property.type === 'boolean'
            ? typeof value === 'boolean'
            : property.type === 'dateTime'
              ? typeof value === 'object'
              : false;
    if (!fits) {
      if (property.type === 'collection')
        throw new FilterError(
          property.at,
          `${property.written} is a collection: use ${property.written}/any(x:x eq '…')`,
        );
      const expected =
        property.type === 'string'
          ? "a text in quotes ('…') or null"
          : property.type === 'boolean'
            ? 'true, false or null'
            : 'an unquoted date-time (2020-01-15T00:00:00Z) or null';
      throw new FilterError(token.at, `${property.written} takes ${expected}, not ${literalType(value)}`);
    }
    return value;
  }

  private text(): string {
    const token = this.take();
    if (token.t !== 'str')
      throw new FilterError(token.at, `expected a text in quotes ('…'), found ${describeToken(token)}`);
    return token.v;
  }

  private startsWith(): UserFilter {
    this.take();
    this.expect('(', "'('");
    const property = this.property();
    if (property.type !== 'string' && property.type !== 'extension') {
      const hint = property.type === 'collection' ? `: use ${property.written}/any(x:startswith(x,'…'))` : '';
      throw new FilterError(
        property.at,
        `startswith needs a text property, and ${property.written} is not one${hint}`,
      );
    }
    this.expect(',', "','");
    const prefix = this.text();
    this.expect(')', "')'");
    return { kind: 'startswith', path: property.path, prefix };
  }

  private lambda(): UserFilter {
    const head = this.take() as Token & { v: string };
    const written = head.v.slice(0, -'/any'.length);
    const resolved = resolveFilterProperty(written);
    if (!resolved) throw new FilterError(head.at, `unknown user property '${written}'`);
    if (resolved.type !== 'collection' && resolved.type !== 'extension')
      throw new FilterError(
        head.at,
        `${written} is not a collection: 'any' applies to collections such as proxyAddresses`,
      );
    this.expect('(', "'('");
    const variable = this.take();
    if (variable.t !== 'word' || variable.v.includes('/'))
      throw new FilterError(
        variable.at,
        `expected the lambda's variable (as in any(x:…)), found ${describeToken(variable)}`,
      );
    this.expect(':', "':' after the lambda's variable");
    const isVariable = (token: Token): boolean => token.t === 'word' && token.v === variable.v;
    const first = this.peek();
    let predicate: Extract<UserFilter, { kind: 'any' }>['predicate'];
    if (this.keyword(first) === 'startswith' && this.peek(1).t === '(') {
      this.take();
      this.take();
      const target = this.take();
      if (!isVariable(target))
        throw new FilterError(target.at, `expected the lambda's variable '${variable.v}'`);
      this.expect(',', "','");
      predicate = { op: 'startswith', prefix: this.text() };
      this.expect(')', "')'");
    } else if (isVariable(first)) {
      this.take();
      const op = this.take();
      if (this.keyword(op) !== 'eq')
        throw new FilterError(
          op.at,
          `inside 'any' only ${variable.v} eq '…' and startswith(${variable.v},'…') are supported`,
        );
      predicate = { op: 'eq', value: this.text() };
    } else {
      throw new FilterError(
        first.at,
        `inside 'any' only ${variable.v} eq '…' and startswith(${variable.v},'…') are supported`,
      );
    }
    this.expect(')', "')' closing the lambda (one condition inside 'any')");
    return { kind: 'any', path: resolved.path, predicate };
  }
}

export function parseUserFilter(text: string): FilterParse {
  try {
    const tokens = tokenize(text);
    if (tokens.length === 1) return { ok: false, position: 0, reason: 'the filter is empty' };
    return { ok: true, filter: new Parser(tokens).parse() };
  } catch (error) {
    if (error instanceof FilterError) return { ok: false, position: error.position, reason: error.reason };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------- printing

function formatLiteral(value: FilterLiteral): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.dateTime;
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  return String(value);
}

const writtenPath = (path: string): string => path.replace('.', '/');

/** The filter as text again (canonical names, every `and`/`or` parenthesised); parses back to itself. */
export function formatUserFilter(filter: UserFilter): string {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return `(${formatUserFilter(filter.left)} ${filter.kind} ${formatUserFilter(filter.right)})`;
    case 'not':
      return `not(${formatUserFilter(filter.operand)})`;
    case 'eq':
    case 'ne':
      return `${writtenPath(filter.path)} ${filter.kind} ${formatLiteral(filter.value)}`;
    case 'in':
      return `${writtenPath(filter.path)} in (${filter.values.map(formatLiteral).join(',')})`;
    case 'startswith':
      return `startswith(${writtenPath(filter.path)},${formatLiteral(filter.prefix)})`;
    case 'any':
      return filter.predicate.op === 'eq'
        ? `${filter.path}/any(x:x eq ${formatLiteral(filter.predicate.value)})`
        : `${filter.path}/any(x:startswith(x,${formatLiteral(filter.predicate.prefix)}))`;
  }
}

/** Every canonical path the filter reads (what the mirror must hold for it). */
export function pathsOfUserFilter(filter: UserFilter): Set<string> {
  const paths = new Set<string>();
  const stack: UserFilter[] = [filter];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if ('left' in node) stack.push(node.left, node.right);
    else if ('operand' in node) stack.push(node.operand);
    else paths.add(node.path);
  }
  return paths;
}

// ---------------------------------------------------------------------------------------------- evaluation

function scalarEquals(actual: unknown, expected: Exclude<FilterLiteral, null>): boolean {
  if (typeof expected === 'string')
    return typeof actual === 'string' && actual.toLowerCase() === expected.toLowerCase();
  if (typeof expected === 'object') {
    if (typeof actual !== 'string') return false;
    const instant = Date.parse(actual);
    return Number.isFinite(instant) && instant === Date.parse(expected.dateTime);
  }
  return actual === expected;
}

function equals(actual: unknown, expected: FilterLiteral): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (Array.isArray(actual)) return actual.some((item) => scalarEquals(item, expected));
  return scalarEquals(actual, expected);
}

function startsWith(actual: unknown, prefix: string): boolean {
  const needle = prefix.toLowerCase();
  const test = (v: unknown): boolean => typeof v === 'string' && v.toLowerCase().startsWith(needle);
  return Array.isArray(actual) ? actual.some(test) : test(actual);
}

/**
 * Whether a user passes the filter. `read` gets a canonical path (Graph's property name,
 * `onPremisesExtensionAttributes.extensionAttributeN`, or a directory extension's name in lower case,
 * `extension_<app id>_<name>`: Graph's names ignore case, so the reader finds it ignoring case) and answers
 * the mirror's value: string, boolean, number, string[], null, or undefined when absent.
 */
export function matchesUserFilter(filter: UserFilter, read: (path: string) => unknown): boolean {
  switch (filter.kind) {
    case 'and':
      return matchesUserFilter(filter.left, read) && matchesUserFilter(filter.right, read);
    case 'or':
      return matchesUserFilter(filter.left, read) || matchesUserFilter(filter.right, read);
    case 'not':
      return !matchesUserFilter(filter.operand, read);
    case 'eq':
      return equals(read(filter.path), filter.value);
    case 'ne':
      return !equals(read(filter.path), filter.value);
    case 'in': {
      const actual = read(filter.path);
      return filter.values.some((value) => equals(actual, value));
    }
    case 'startswith':
      return startsWith(read(filter.path), filter.prefix);
    case 'any': {
      const actual = read(filter.path);
      const items = Array.isArray(actual) ? actual : actual === null || actual === undefined ? [] : [actual];
      const { predicate } = filter;
      return predicate.op === 'eq'
        ? items.some((item) => scalarEquals(item, predicate.value))
        : items.some((item) => startsWith(item, predicate.prefix));
    }
  }
}
