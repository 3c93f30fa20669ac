/**
 * @module The route key of a limiter: the chain of PATTERNS (mounts, routers, route) through which
 * Express reached the limiter, never the URL text. `/AUTH/login`, `/auth/login/` and `/auth/login`
 * reach the same layers and so share one budget; `/users/1` and `/users/2` reach `/users/:id` once
 * (issue 8 item 1). Express keeps the pattern on its layers, not on `req`, so the key is found by
 * replaying Express's own matching over the app's router stack (Express 4 and 5).
 */
import type { Request } from 'express';

/** The parts of an Express 4 / router 2 layer the walk reads. */
interface Layer {
  handle: unknown;
  route?: Route;
  match(path: string): unknown;
  /** Express 4: the compiled pattern (its source and flags are the pattern as matched). */
  regexp?: RegExp;
  /** router 2 (Express 5): the pattern(s) as written. */
  rawPath?: unknown;
  params?: unknown;
  path?: unknown;
  keys?: unknown;
}

interface Route {
  stack: { handle: unknown }[];
  methods: Record<string, boolean | undefined>;
  _handles_method?(method: string): boolean;
  _handlesMethod?(method: string): boolean;
}

interface Router {
  stack: Layer[];
}

/** Layers deeper than this are not searched (routers nest a handful deep in practice). */
const MAX_DEPTH = 16;

function isRouter(value: unknown): value is Router {
  return (typeof value === 'function' || typeof value === 'object') && value !== null && Array.isArray((value as Partial<Router>).stack);
}

function patternOf(layer: Layer): string | undefined {
  if (layer.regexp instanceof RegExp) return String(layer.regexp);
  if (layer.rawPath !== undefined) return Array.isArray(layer.rawPath) ? layer.rawPath.map(String).join('|') : String(layer.rawPath);
  return undefined;
}

/** The text `layer` matches at the start of `path`, or null. Leaves the layer as it found it. */
function matchedText(layer: Layer, path: string): string | null {
  // Express 4 (and router 2 before 2.3) store the match on the layer: save and restore it, so the
  // router's own state for a request in flight is untouched.
  const saved = { params: layer.params, path: layer.path, keys: layer.keys };
  try {
    const result = layer.match(path);
    if (!result) return null;
    const text = typeof result === 'object' ? (result as { path?: unknown }).path : layer.path;
    return typeof text === 'string' ? text : null;
  } catch {
    return null; // e.g. a malformed %-escape: Express does not route it either
  } finally {
    Object.assign(layer, saved);
  }
}

function handlesMethod(route: Route, method: string): boolean {
  // Express routes GET handlers for HEAD; both majors' helpers encode that.
  if (typeof route._handles_method === 'function') return route._handles_method(method);
  if (typeof route._handlesMethod === 'function') return route._handlesMethod(method);
  return true;
}

/** The pattern chain from `stack` to the layer running `handler`, or null when not there. */
function find(stack: readonly Layer[], path: string, handler: unknown, method: string, depth: number): string[] | null {
  if (depth > MAX_DEPTH) return null;
  for (const layer of stack) {
    const text = matchedText(layer, path);
    if (text === null) continue;
    const pattern = patternOf(layer);
    if (pattern === undefined) continue;
    const route = layer.route;
    if (route) {
      if (handlesMethod(route, method) && route.stack.some((l) => l.handle === handler)) {
        return [pattern, Object.keys(route.methods).sort().join(',')];
      }
      continue;
    }
    if (layer.handle === handler) return [pattern];
    if (!isRouter(layer.handle)) continue;
    // As Express does: a mount must end at a path separator; the rest is routed inside.
    const next = path[text.length];
    if (next !== undefined && next !== '/' && !text.endsWith('/')) continue;
    const rest = path.slice(text.length);
    const inner = find(layer.handle.stack, rest.startsWith('/') ? rest : `/${rest}`, handler, method, depth + 1);
    if (inner) return [pattern, ...inner];
  }
  return null;
}

/** The pathname of `url` (no query), as Express routes it. */
function pathname(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * The key of the route through which `req` reached `handler`: its layer patterns joined, plus the
 * route's methods. Falls back to the normalised mount text (lower-cased unless the app routes
 * case-sensitively) where the walk cannot see the layers (a sub-application, a rewritten `req.url`).
 */
export function routeKeyOf(req: Request, handler: unknown): string {
  const app = req.app as unknown as { _router?: Router; router?: Router; parent?: unknown; get(name: string): unknown };
  // Express 4 keeps the root router on `_router`, Express 5 on `router`.
  const root = app._router ?? app.router;
  if (root && isRouter(root) && !app.parent) {
    const found = find(root.stack, `${req.baseUrl}${pathname(req.url)}`, handler, req.method, 0);
    if (found) return found.join('\n');
  }
  const mount = app.get('case sensitive routing') ? req.baseUrl : req.baseUrl.toLowerCase();
  const route = req.route?.path !== undefined ? String(req.route.path) : '*';
  return `~${mount.replace(/\/+$/, '')}${route}`;
}
