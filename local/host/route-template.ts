/** A compiled HTTP route template (`users/{id:int}`, `files/{*path}`, `items/{name?}`). */
export interface RouteTemplate {
  readonly template: string;
  /** Literal segments first when several routes match the same path (as ASP.NET routing prefers them). */
  readonly precedence: number;
  /** The route parameters when `path` (without the route prefix, no leading slash) matches, else undefined. */
  match(path: string): Record<string, string> | undefined;
}

const CONSTRAINTS: Readonly<Record<string, string>> = {
  int: '-?\\d+',
  long: '-?\\d+',
  bool: '(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])',
  alpha: '[A-Za-z]+',
  guid: '[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}',
  double: '-?\\d+(?:\\.\\d+)?',
  float: '-?\\d+(?:\\.\\d+)?',
  decimal: '-?\\d+(?:\\.\\d+)?',
  datetime: '[^/]+',
};

const PARAMETER = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$/;

function escapeLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function parameterPattern(constraint: string | undefined, template: string): string {
  if (constraint === undefined) return '[^/]+';
  const pattern = CONSTRAINTS[constraint];
  if (!pattern)
    throw new Error(`Route "${template}": constraint "${constraint}" is not supported by the local host.`);
  return pattern;
}

/** Compiles a route template; throws on syntax the local host does not support. */
export function compileRouteTemplate(template: string): RouteTemplate {
  const trimmed = template.replace(/^\/+|\/+$/g, '');
  const names: string[] = [];
  let source = '';
  let literalSegments = 0;
  let hasCatchAll = false;
  const segments = trimmed === '' ? [] : trimmed.split('/');
  segments.forEach((segment, index) => {
    const whole = PARAMETER.exec(segment);
    const separator = index === 0 ? '' : '/';
    if (whole) {
      const [, catchAll, name = '', constraint, optional] = whole;
      names.push(name);
      if (catchAll) {
        if (index !== segments.length - 1) throw new Error(`Route "${template}": {*${name}} must be last.`);
        source += `(?:${separator}(.*))?`;
        hasCatchAll = true;
      } else {
        const group = `(${parameterPattern(constraint, template)})`;
        source += optional ? `(?:${separator}${group})?` : `${separator}${group}`;
      }
      return;
    }
    literalSegments += 1;
    let segmentSource = '';
    let rest = segment;
    while (rest !== '') {
      const open = rest.indexOf('{');
      if (open < 0) {
        segmentSource += escapeLiteral(rest);
        break;
      }
      const close = rest.indexOf('}', open);
      const inner = close < 0 ? undefined : PARAMETER.exec(rest.slice(open, close + 1));
      if (!inner || inner[1] || inner[4])
        throw new Error(`Route "${template}": segment "${segment}" is not supported.`);
      segmentSource += escapeLiteral(rest.slice(0, open)) + `(${parameterPattern(inner[3], template)})`;
      names.push(inner[2] ?? '');
      rest = rest.slice(close + 1);
    }
    source += separator + segmentSource;
  });
  const regex = new RegExp(`^${source}$`, 'i');
  return {
    template: trimmed,
    precedence: literalSegments * 2 - (hasCatchAll ? 1 : 0),
    match(path) {
      const match = regex.exec(path.replace(/^\/+|\/+$/g, ''));
      if (!match) return undefined;
      const params: Record<string, string> = {};
      names.forEach((name, index) => {
        const value = match[index + 1];
        if (value !== undefined && value !== '') params[name] = decodeURIComponent(value);
      });
      return params;
    },
  };
}
