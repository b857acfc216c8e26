import { readFileSync } from 'node:fs';

/**
 * A small reader for the Bicep subset used in `infra/`: top-level `param`, `var`, `resource`,
 * `module` and `output` declarations (with their decorators), and the entries of object and
 * array literals. It is not a Bicep compiler: it knows strings (with `${}` interpolation),
 * comments and bracket nesting, which is enough to assert on the declarations' text.
 */

export interface BicepParam {
  readonly name: string;
  readonly type: string;
  readonly decorators: readonly string[];
  readonly defaultValue: string | undefined;
}

export interface BicepDeclaration {
  readonly name: string;
  readonly value: string;
}

export interface BicepResource {
  readonly symbol: string;
  readonly type: string;
  readonly apiVersion: string;
  readonly existing: boolean;
  /** Everything after `=`: an object, `if (…) {…}` or `[for … : {…}]`. */
  readonly value: string;
  /** The resource's object literal, `{ … }`, wherever it sits in `value`. */
  readonly body: string;
}

export interface BicepModule {
  readonly symbol: string;
  readonly path: string;
  readonly body: string;
}

export interface BicepOutput {
  readonly name: string;
  readonly type: string;
  readonly value: string;
}

export interface BicepFile {
  readonly targetScope: string | undefined;
  /** `extension <name>` statements (e.g. microsoftGraphV1, an alias of bicepconfig.json `extensions`). */
  readonly extensions: readonly string[];
  readonly params: readonly BicepParam[];
  readonly variables: readonly BicepDeclaration[];
  readonly resources: readonly BicepResource[];
  readonly modules: readonly BicepModule[];
  readonly outputs: readonly BicepOutput[];
}

interface Scanned {
  /** The text with comments replaced by spaces (offsets and newlines kept). */
  readonly code: string;
  /** Bracket depth outside strings at each offset of `code`. */
  readonly depth: readonly number[];
  /** Whether each offset of `code` is inside a string literal (interpolations excluded). */
  readonly inString: readonly boolean[];
}

type Mode = { kind: 'code'; braces: number } | { kind: 'string' } | { kind: 'multiline' };

function scan(text: string): Scanned {
  const out = text.split('');
  const depth: number[] = new Array<number>(text.length).fill(0);
  const inString: boolean[] = new Array<boolean>(text.length).fill(false);
  const modes: Mode[] = [{ kind: 'code', braces: 0 }];
  let level = 0;
  let i = 0;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k += 1) if (out[k] !== '\n') out[k] = ' ';
  };
  while (i < text.length) {
    const mode = modes[modes.length - 1]!;
    const ch = text[i]!;
    depth[i] = level;
    if (mode.kind === 'multiline') {
      inString[i] = true;
      if (text.startsWith("'''", i)) {
        modes.pop();
        i += 3;
      } else i += 1;
      continue;
    }
    if (mode.kind === 'string') {
      inString[i] = true;
      if (ch === '\\') {
        if (i + 1 < text.length) {
          depth[i + 1] = level;
          inString[i + 1] = true;
        }
        i += 2;
      } else if (ch === "'") {
        modes.pop();
        i += 1;
      } else if (text.startsWith('${', i)) {
        // `${` and its closing `}` belong to the string's syntax, not to the code's nesting.
        depth[i + 1] = level;
        inString[i + 1] = true;
        modes.push({ kind: 'code', braces: 0 });
        i += 2;
      } else i += 1;
      continue;
    }
    if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (text.startsWith("'''", i)) {
      modes.push({ kind: 'multiline' });
      inString[i] = true;
      i += 3;
      continue;
    }
    if (ch === "'") {
      modes.push({ kind: 'string' });
      inString[i] = true;
      i += 1;
      continue;
    }
    const insideInterpolation = modes.length > 1;
    if (ch === '{' && insideInterpolation) mode.braces += 1;
    if (ch === '}' && insideInterpolation) {
      if (mode.braces === 0) {
        inString[i] = true;
        modes.pop();
        i += 1;
        continue;
      }
      mode.braces -= 1;
    }
    if (ch === '(' || ch === '[' || ch === '{') level += 1;
    if (ch === ')' || ch === ']' || ch === '}') level -= 1;
    i += 1;
  }
  return { code: out.join(''), depth, inString };
}

/** Splits at newlines (and, for literals, commas) that sit at bracket depth `atDepth` outside strings. */
function splitLines(
  scanned: Scanned,
  atDepth: number,
  from = 0,
  to = scanned.code.length,
  separators: readonly string[] = ['\n'],
): string[] {
  const parts: string[] = [];
  let start = from;
  for (let i = from; i < to; i += 1) {
    const ch = scanned.code[i]!;
    if (separators.includes(ch) && scanned.depth[i] === atDepth && !scanned.inString[i]) {
      parts.push(scanned.code.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(scanned.code.slice(start, to));
  return parts.map((part) => part.trim()).filter((part) => part.length > 0);
}

/** The first bracketed group opened by `open` outside strings, brackets included. */
function firstGroup(text: string, open: '{' | '['): string | undefined {
  const scanned = scan(text);
  const start = scanned.code.split('').findIndex((ch, i) => ch === open && !scanned.inString[i]);
  if (start === -1) return undefined;
  const base = scanned.depth[start]!;
  for (let i = start + 1; i < scanned.code.length; i += 1) {
    const closes = scanned.code[i] === (open === '{' ? '}' : ']');
    if (closes && !scanned.inString[i] && scanned.depth[i] === base + 1)
      return scanned.code.slice(start, i + 1);
  }
  return undefined;
}

const LITERAL_SEPARATORS = ['\n', ','];

const PARAM = /^param\s+(\w+)\s+(\w+)(?:\s*=\s*([\s\S]+))?$/;
const VAR = /^var\s+(\w+)\s*=\s*([\s\S]+)$/;
const RESOURCE = /^resource\s+(\w+)\s+'([^'@]+)@([^']+)'\s+(existing\s+)?=\s*([\s\S]+)$/;
const MODULE = /^module\s+(\w+)\s+'([^']+)'\s*=\s*([\s\S]+)$/;
const OUTPUT = /^output\s+(\w+)\s+(\w+)\s*=\s*([\s\S]+)$/;
const TARGET_SCOPE = /^targetScope\s*=\s*'([^']+)'$/;
const EXTENSION = /^extension\s+(\S+)$/;

export function readBicep(text: string): BicepFile {
  const scanned = scan(text);
  const params: BicepParam[] = [];
  const variables: BicepDeclaration[] = [];
  const resources: BicepResource[] = [];
  const modules: BicepModule[] = [];
  const outputs: BicepOutput[] = [];
  const extensions: string[] = [];
  let targetScope: string | undefined;
  let decorators: string[] = [];
  for (const statement of splitLines(scanned, 0)) {
    if (statement.startsWith('@')) {
      decorators.push(statement);
      continue;
    }
    const param = PARAM.exec(statement);
    const variable = VAR.exec(statement);
    const resource = RESOURCE.exec(statement);
    const module = MODULE.exec(statement);
    const output = OUTPUT.exec(statement);
    const scope = TARGET_SCOPE.exec(statement);
    const extension = EXTENSION.exec(statement);
    if (param) params.push({ name: param[1]!, type: param[2]!, decorators, defaultValue: param[3]?.trim() });
    else if (variable) variables.push({ name: variable[1]!, value: variable[2]!.trim() });
    else if (resource) {
      const value = resource[5]!.trim();
      resources.push({
        symbol: resource[1]!,
        type: resource[2]!,
        apiVersion: resource[3]!,
        existing: resource[4] !== undefined,
        value,
        body: firstGroup(value, '{') ?? '',
      });
    } else if (module)
      modules.push({ symbol: module[1]!, path: module[2]!, body: firstGroup(module[3]!, '{') ?? '' });
    else if (output) outputs.push({ name: output[1]!, type: output[2]!, value: output[3]!.trim() });
    else if (scope) targetScope = scope[1];
    else if (extension) extensions.push(extension[1]!);
    else throw new Error(`unrecognised Bicep statement: ${statement.slice(0, 80)}`);
    decorators = [];
  }
  return { targetScope, extensions, params, variables, resources, modules, outputs };
}

export function readBicepFile(path: string): BicepFile {
  return readBicep(readFileSync(path, 'utf8'));
}

/** Top-level `key: value` entries of an object literal `{ … }` (quoted keys unquoted). */
export function objectEntries(objectLiteral: string): Map<string, string> {
  const entries = new Map<string, string>();
  const group = firstGroup(objectLiteral, '{');
  if (group === undefined) return entries;
  for (const line of splitLines(scan(group), 1, 1, group.length - 1, LITERAL_SEPARATORS)) {
    const entry = /^(?:'([^']+)'|(\w+))\s*:\s*([\s\S]+)$/.exec(line);
    if (entry) entries.set(entry[1] ?? entry[2]!, entry[3]!.trim());
  }
  return entries;
}

/** Follows a dotted path of keys through nested object literals: `property(body, 'properties', 'sku')`. */
export function property(objectLiteral: string, ...path: string[]): string | undefined {
  let current: string | undefined = objectLiteral;
  for (const key of path) {
    if (current === undefined) return undefined;
    current = objectEntries(current).get(key);
  }
  return current;
}

/** Items of an array literal `[ … ]` (one per line, as Bicep writes them), raw text. */
export function arrayItems(arrayLiteral: string): string[] {
  const group = firstGroup(arrayLiteral, '[');
  if (group === undefined) return [];
  return splitLines(scan(group), 1, 1, group.length - 1, LITERAL_SEPARATORS);
}

/** The value of a Bicep single-quoted string literal without interpolation, else undefined. */
export function stringLiteral(expression: string): string | undefined {
  const literal = /^'((?:[^'\\$]|\\.|\$(?!\{))*)'$/.exec(expression.trim());
  return literal ? literal[1]!.replace(/\\(.)/g, '$1') : undefined;
}

/** The loop of a `[for x in source: …]` resource, if it is one. */
export function loopSource(resource: BicepResource): { item: string; source: string } | undefined {
  const loop = /^\[\s*for\s+(\w+)\s+in\s+(\w+)\s*:/.exec(resource.value);
  return loop ? { item: loop[1]!, source: loop[2]! } : undefined;
}
