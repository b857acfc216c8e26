/**
 * The `$filter` subset the stand-in understands (`eq`, `ne`, `ge`, `le`, `startswith`, `endswith`, `in`,
 * `and`, `or`, `not`, parentheses, `any` lambdas on collections such as
 * `proxyAddresses/any(p:startswith(p,'smtp:'))`, unquoted DateTimeOffset literals compared as instants),
 * which forms are "advanced" (need `ConsistencyLevel: eventual` and
 * `$count=true`), and evaluation against an object's properties (strings compare case-insensitively).
 */
import { TenantError } from '../tenant/tenant-store.js';
import type { JsonValue } from '../tenant/types.js';

/** An unquoted DateTimeOffset literal (`2020-01-15T00:00:00Z`): compares as an instant, as Graph's does. */
export interface DateTimeLiteral {
  readonly dateTime: string;
}

export type Literal = string | number | boolean | null | DateTimeLiteral;

export type FilterNode =
  | { readonly kind: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly operand: FilterNode }
  | {
      readonly kind: 'compare';
      readonly op: 'eq' | 'ne' | 'ge' | 'le';
      readonly path: string;
      readonly value: Literal;
    }
  | {
      readonly kind: 'function';
      readonly name: 'startswith' | 'endswith';
      readonly path: string;
      readonly value: string;
    }
  | { readonly kind: 'in'; readonly path: string; readonly values: readonly Literal[] }
  | {
      /** `path/any(variable: predicate)`: the predicate's path is the variable. */
      readonly kind: 'any';
      readonly path: string;
      readonly variable: string;
      readonly predicate: FilterNode;
    };

type Token =
  | { t: 'str'; v: string }
  | { t: 'word'; v: string }
  | { t: 'num'; v: number }
  | { t: 'date'; v: string }
  | { t: '(' }
  | { t: ')' }
  | { t: ',' }
  | { t: ':' };

function unsupported(message: string): TenantError {
  return new TenantError(400, 'Request_UnsupportedQuery', message);
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})/i;

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',' || c === ':') {
      tokens.push({ t: c });
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length) throw unsupported('Invalid filter clause: unterminated string literal.');
        if (input[i] === "'") {
          if (input[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += input[i]!;
        i++;
      }
      tokens.push({ t: 'str', v: value });
    } else if (DATE_TIME.test(input.slice(i))) {
      const value = DATE_TIME.exec(input.slice(i))![0];
      tokens.push({ t: 'date', v: value });
      i += value.length;
    } else {
      const match = /^[A-Za-z0-9_./+-]+/.exec(input.slice(i));
      if (!match) throw unsupported(`Invalid filter clause: unexpected character '${c}'.`);
      const word = match[0];
      i += word.length;
      if (/^-?\d+(\.\d+)?$/.test(word)) tokens.push({ t: 'num', v: Number(word) });
      else tokens.push({ t: 'word', v: word });
    }
  }
  return tokens;
}

export function parseFilter(input: string): FilterNode {
  const tokens = tokenize(input);
  let pos = 0;
  const peekWord = (): string | undefined => {
    const token = tokens[pos];
    return token?.t === 'word' ? token.v.toLowerCase() : undefined;
  };
  const expect = (t: '(' | ')' | ',' | ':'): void => {
    if (tokens[pos]?.t !== t) throw unsupported(`Invalid filter clause: '${t}' expected.`);
    pos++;
  };
  const literal = (): Literal => {
    const token = tokens[pos++];
    if (!token) throw unsupported('Invalid filter clause: a value is missing.');
    if (token.t === 'str') return token.v;
    if (token.t === 'num') return token.v;
    if (token.t === 'date') {
      if (!Number.isFinite(Date.parse(token.v)))
        throw unsupported(`Invalid filter clause: '${token.v}' is not a valid DateTimeOffset.`);
      return { dateTime: token.v };
    }
    if (token.t === 'word') {
      const lower = token.v.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      if (lower === 'null') return null;
      return token.v; // unquoted GUIDs and dates
    }
    throw unsupported('Invalid filter clause: a value is missing.');
  };
  const path = (): string => {
    const token = tokens[pos++];
    if (token?.t !== 'word') throw unsupported('Invalid filter clause: a property name is expected.');
    return token.v;
  };
  const primary = (): FilterNode => {
    if (tokens[pos]?.t === '(') {
      pos++;
      const inner = orExpr();
      expect(')');
      return inner;
    }
    const word = peekWord();
    if (word === 'not') {
      pos++;
      return { kind: 'not', operand: primary() };
    }
    if ((word === 'startswith' || word === 'endswith') && tokens[pos + 1]?.t === '(') {
      pos += 2;
      const p = path();
      expect(',');
      const value = literal();
      expect(')');
      if (typeof value !== 'string') throw unsupported(`${word} needs a string value.`);
      return { kind: 'function', name: word, path: p, value };
    }
    if (word?.endsWith('/any') && tokens[pos + 1]?.t === '(') {
      const collection = (tokens[pos] as { v: string }).v.slice(0, -'/any'.length);
      pos += 2;
      const variable = path();
      expect(':');
      const predicate = orExpr();
      expect(')');
      const onlyVariable = (n: FilterNode): boolean =>
        'left' in n
          ? onlyVariable(n.left) && onlyVariable(n.right)
          : 'operand' in n
            ? onlyVariable(n.operand)
            : n.kind !== 'any' && n.path === variable;
      if (!onlyVariable(predicate))
        throw unsupported(`Invalid filter clause: the lambda may only test its variable '${variable}'.`);
      return { kind: 'any', path: collection, variable, predicate };
    }
    if (word !== undefined && tokens[pos + 1]?.t === '(') {
      throw unsupported(
        `Unsupported function '${tokens[pos]?.t === 'word' ? (tokens[pos] as { v: string }).v : ''}' in filter clause.`,
      );
    }
    const p = path();
    const op = peekWord();
    pos++;
    if (op === 'eq' || op === 'ne' || op === 'ge' || op === 'le')
      return { kind: 'compare', op, path: p, value: literal() };
    if (op === 'in') {
      expect('(');
      const values: Literal[] = [literal()];
      while (tokens[pos]?.t === ',') {
        pos++;
        values.push(literal());
      }
      expect(')');
      return { kind: 'in', path: p, values };
    }
    if (p.includes('/any(') || op === undefined) throw unsupported('Invalid filter clause.');
    throw unsupported(`Unsupported operator '${op}' in filter clause.`);
  };
  const andExpr = (): FilterNode => {
    let left = primary();
    while (peekWord() === 'and') {
      pos++;
      left = { kind: 'and', left, right: primary() };
    }
    return left;
  };
  const orExpr = (): FilterNode => {
    let left = andExpr();
    while (peekWord() === 'or') {
      pos++;
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  };
  const node = orExpr();
  if (pos !== tokens.length)
    throw unsupported('Invalid filter clause: unexpected text after the expression.');
  return node;
}

export interface FilterPolicy {
  /** Resource name for messages, e.g. `User`. */
  readonly resource: string;
  /** Filterable property paths (lower-case); `prefix/*` allows any sub-property. */
  readonly filterable: readonly string[];
  /** Property paths (lower-case, `prefix/*` allowed) that need advanced query capabilities. */
  readonly advancedProperties: readonly string[];
}

function pathMatches(list: readonly string[], path: string): boolean {
  const lower = path.toLowerCase();
  return list.some((p) => (p.endsWith('/*') ? lower.startsWith(p.slice(0, -1)) : p === lower));
}

/** Throws 400 `Request_UnsupportedQuery` for unknown properties or advanced forms without advanced mode. */
export function checkFilter(node: FilterNode, policy: FilterPolicy, advanced: boolean): void {
  const needAdvanced = (what: string): void => {
    if (!advanced) {
      throw unsupported(
        `${what} is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information`,
      );
    }
  };
  const visit = (n: FilterNode): void => {
    switch (n.kind) {
      case 'and':
      case 'or':
        visit(n.left);
        visit(n.right);
        return;
      case 'not':
        needAdvanced("Operator 'not'");
        visit(n.operand);
        return;
      case 'any':
        if (!pathMatches(policy.filterable, n.path) && !n.path.toLowerCase().startsWith('extension_')) {
          throw unsupported(
            `Unsupported or invalid query filter clause specified for property '${n.path}' of resource '${policy.resource}'.`,
          );
        }
        return;
      default: {
        if (!pathMatches(policy.filterable, n.path) && !n.path.toLowerCase().startsWith('extension_')) {
          throw unsupported(
            `Unsupported or invalid query filter clause specified for property '${n.path}' of resource '${policy.resource}'.`,
          );
        }
        if (pathMatches(policy.advancedProperties, n.path)) needAdvanced(`Property '${n.path}'`);
        if (n.kind === 'compare' && n.op === 'ne') needAdvanced("Operator 'ne'");
        if (n.kind === 'compare' && n.value === null) needAdvanced(`Filtering '${n.path}' on null`);
        if (n.kind === 'function' && n.name === 'endswith') needAdvanced("Operator 'endsWith'");
      }
    }
  };
  visit(node);
}

export type PropertyReader = (path: string) => JsonValue | undefined;

function normalise(value: JsonValue | undefined): string | number | boolean | null {
  if (value === undefined) return null;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return value;
}

const instantOf = (value: string | number | boolean): number | undefined => {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
};

function equals(actual: JsonValue | undefined, expected: Literal): boolean {
  if (Array.isArray(actual)) return actual.some((v) => equals(v, expected));
  const a = normalise(actual);
  if (a === null || expected === null) return a === expected;
  if (typeof expected === 'object') {
    const instant = instantOf(a);
    return instant !== undefined && instant === Date.parse(expected.dateTime);
  }
  if (typeof a === 'string' && typeof expected === 'string')
    return a.toLowerCase() === expected.toLowerCase();
  return a === expected;
}

function compareOrder(actual: JsonValue | undefined, expected: Literal): number | undefined {
  const a = normalise(actual);
  if (a === null || expected === null) return undefined;
  if (typeof expected === 'object') {
    const instant = instantOf(a);
    return instant === undefined ? undefined : instant - Date.parse(expected.dateTime);
  }
  if (typeof a === 'number' && typeof expected === 'number') return a - expected;
  return String(a).toLowerCase().localeCompare(String(expected).toLowerCase());
}

export function evaluateFilter(node: FilterNode, read: PropertyReader): boolean {
  switch (node.kind) {
    case 'and':
      return evaluateFilter(node.left, read) && evaluateFilter(node.right, read);
    case 'or':
      return evaluateFilter(node.left, read) || evaluateFilter(node.right, read);
    case 'not':
      return !evaluateFilter(node.operand, read);
    case 'any': {
      const actual = read(node.path);
      const items = Array.isArray(actual) ? actual : actual === null || actual === undefined ? [] : [actual];
      return items.some((item) =>
        evaluateFilter(node.predicate, (p) => (p === node.variable ? item : undefined)),
      );
    }
    case 'in': {
      const actual = read(node.path);
      return node.values.some((v) => equals(actual, v));
    }
    case 'function': {
      const actual = read(node.path);
      const values = Array.isArray(actual) ? actual : [actual];
      return values.some((v) => {
        if (typeof v !== 'string') return false;
        const s = v.toLowerCase();
        const needle = node.value.toLowerCase();
        return node.name === 'startswith' ? s.startsWith(needle) : s.endsWith(needle);
      });
    }
    case 'compare': {
      const actual = read(node.path);
      if (node.op === 'eq') return equals(actual, node.value);
      if (node.op === 'ne') return !equals(actual, node.value);
      const order = compareOrder(actual, node.value);
      if (order === undefined) return false;
      return node.op === 'ge' ? order >= 0 : order <= 0;
    }
  }
}

/** Reads `a/b` paths from an object of properties. */
export function readPath(
  source: (name: string) => JsonValue | undefined,
  path: string,
): JsonValue | undefined {
  const [head, ...rest] = path.split('/');
  let value = source(head!);
  for (const part of rest) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const key = Object.keys(value).find((k) => k.toLowerCase() === part.toLowerCase());
    value = key === undefined ? undefined : value[key];
  }
  return value;
}
