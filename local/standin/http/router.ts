/** Matches request paths against `{param}` patterns (literal segments case-insensitive, as Graph's are). */
import type { RouteHandler, RouteOptions, RouteParams, RouteTable } from './route-table.js';

export interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly literalCount: number;
  readonly handler: RouteHandler;
  readonly options: RouteOptions;
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly params: RouteParams }
  | { readonly kind: 'methodNotAllowed' }
  | { readonly kind: 'notFound' };

export class Router implements RouteTable {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: RouteHandler, options: RouteOptions = {}): void {
    const segments = splitPath(pattern);
    this.routes.push({
      method: method.toUpperCase(),
      pattern,
      segments,
      literalCount: segments.filter((s) => !isParam(s)).length,
      handler,
      options,
    });
  }

  match(method: string, path: string): RouteMatch {
    const segments = splitPath(path).map(safeDecode);
    let best: { route: Route; params: Record<string, string> } | undefined;
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      pathMatched = true;
      if (route.method !== method.toUpperCase()) continue;
      if (!best || route.literalCount > best.route.literalCount) best = { route, params };
    }
    if (best) return { kind: 'found', route: best.route, params: best.params };
    return pathMatched ? { kind: 'methodNotAllowed' } : { kind: 'notFound' };
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function isParam(segment: string): boolean {
  return segment.startsWith('{') && segment.endsWith('}');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function matchSegments(
  pattern: readonly string[],
  actual: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const a = actual[i]!;
    if (isParam(p)) params[p.slice(1, -1)] = a;
    else if (p.toLowerCase() !== a.toLowerCase()) return undefined;
  }
  return params;
}
