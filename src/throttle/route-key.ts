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

const patterns = new WeakMap<Layer, string>();

function patternOf(layer: Layer): string | undefined {
  let pattern = patterns.get(layer);
  if (pattern === undefined) {
    if (layer.regexp instanceof RegExp) pattern = String(layer.regexp);
    else if (layer.rawPath !== undefined) pattern = Array.isArray(layer.rawPath) ? layer.rawPath.map(String).join('|') : String(layer.rawPath);
    else return undefined;
    patterns.set(layer, pattern);
  }
  return pattern;
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

/** An Express application as the walk sees it (`parent` and `mountpath` are set on sub-apps). */
interface App {
  _router?: Router;
  router?: Router;
  parent?: App;
  mountpath?: unknown;
  get(name: string): unknown;
}

/** The sub-applications from the top app down to `app` (empty for a top-level app). */
function subApps(app: App): App[] {
  const chain: App[] = [];
  for (let a: App | undefined = app; a?.parent && chain.length <= MAX_DEPTH; a = a.parent) chain.unshift(a);
  return chain;
}

/**
 * Whether `layer` (in `router`) is the mount of sub-app `app`. Express wraps a sub-app in an anonymous
 * `mounted_app` function, so the layer is recognised by its pattern: the sub-app's `mountpath`.
 */
function mountsApp(layer: Layer, router: Router, app: App): boolean {
  if ((layer.handle as { name?: string } | undefined)?.name !== 'mounted_app') return false;
  let known = mounts.get(layer);
  if (!known) mounts.set(layer, (known = new WeakMap()));
  let result = known.get(app);
  if (result === undefined) known.set(app, (result = samePattern(layer, router, app.mountpath)));
  return result;
}

// Layer × sub-app → whether the layer mounts it; both come from code, so this is computed once.
const mounts = new WeakMap<Layer, WeakMap<App, boolean>>();

function samePattern(layer: Layer, router: Router, mountpath: unknown): boolean {
  if (layer.regexp instanceof RegExp) {
    // Express 4 keeps only the compiled pattern: compile the mountpath the way app.use did.
    const LayerClass = (layer as unknown as { constructor: new (path: unknown, options: object, fn: () => void) => Layer }).constructor;
    const options = { sensitive: (router as { caseSensitive?: boolean }).caseSensitive, strict: false, end: false };
    return String(new LayerClass(mountpath, options, () => {}).regexp) === String(layer.regexp);
  }
  return patternOf(layer) === patternOf({ rawPath: mountpath } as Layer);
}

/** What the walk looks for: the handler, for this method, through these sub-apps. */
interface Target {
  handler: unknown;
  method: string;
  apps: readonly App[];
  /** Per router, its layers with a way to the handler, in stack order: only those are matched. */
  relevant: WeakMap<Router, Layer[]>;
}

/** Adds to `into` every layer of `router` with a way to `handler` (and to `stacks` every router read, with its length); true when there is one. */
function collect(router: Router, handler: unknown, apps: readonly App[], into: WeakMap<Router, Layer[]>, depth: number, stacks: [Router, number][]): boolean {
  if (depth > MAX_DEPTH) return false;
  stacks.push([router, router.stack.length]);
  const relevant: Layer[] = [];
  into.set(router, relevant);
  for (const layer of router.stack) {
    const [app, ...rest] = apps;
    let inner: Router | undefined;
    const hit =
      layer.route ? layer.route.stack.some((l) => l.handle === handler)
      : layer.handle === handler ? true
      : isRouter(layer.handle) ? collect(layer.handle, handler, apps, into, depth + 1, stacks)
      : !!app && mountsApp(layer, router, app) && !!(inner = rootRouter(app)) && collect(inner, handler, rest, into, depth + 1, stacks);
    if (hit) relevant.push(layer);
  }
  return relevant.length > 0;
}

// handler × innermost app → the layers leading to the handler. Routes come from code, so this is
// computed once (again when the app gained routes since); a request then matches only those layers.
const relevantLayers = new WeakMap<object, WeakMap<App, Collected>>();
const RECOLLECT_MS = 1000;

interface Collected {
  layers: WeakMap<Router, Layer[]>;
  atMs: number;
  /**
   * The key, when exactly one chain of layers leads to the handler, through routers only (a sub-app
   * remembers only its last mount, so a chain through one is never taken as the only one).
   */
  single: string | undefined;
  /** Every router the collection read, with its length then: a route or mount added since shows. */
  stacks: [Router, number][];
  /** The single chain's layers where they stood: one replaced in place shows. */
  chain: [Router, number, Layer][];
}

function relevantTo(handler: object, app: App, root: Router, apps: readonly App[], fresh: boolean): Collected {
  let byApp = relevantLayers.get(handler);
  if (!byApp) relevantLayers.set(handler, (byApp = new WeakMap()));
  let entry = byApp.get(app);
  // A miss may mean routes were added since: look again, but at most once a second, so requests
  // that cannot be explained (see routeKeyOf) never cost a walk of the whole app each. A single
  // chain is collected again as soon as a router on the way gained or lost a layer.
  if (!entry || ((fresh || entry.single !== undefined) && (!unchanged(entry) || Date.now() - entry.atMs >= RECOLLECT_MS))) {
    const layers = new WeakMap<Router, Layer[]>();
    const stacks: [Router, number][] = [];
    collect(root, handler, apps, layers, 0, stacks);
    const chain: [Router, number, Layer][] = [];
    entry = { layers, atMs: Date.now(), single: singleChain(root, handler, layers, 0, chain)?.join('\n'), stacks, chain };
    byApp.set(app, entry);
  }
  return entry;
}

/** True while no router the collection read has gained or lost a layer, and the chain's layers stand where they stood. */
function unchanged(entry: Collected): boolean {
  for (const [router, length] of entry.stacks) if (router.stack.length !== length) return false;
  for (const [router, index, layer] of entry.chain) if (router.stack[index] !== layer) return false;
  return true;
}

/** The pattern chain to `handler` when every router on the way has exactly one layer leading to it. */
function singleChain(router: Router, handler: unknown, layers: WeakMap<Router, Layer[]>, depth: number, chain: [Router, number, Layer][]): string[] | undefined {
  const relevant = layers.get(router);
  if (depth > MAX_DEPTH || relevant?.length !== 1) return undefined;
  const [layer] = relevant;
  chain.push([router, router.stack.indexOf(layer), layer]);
  const pattern = patternOf(layer);
  if (pattern === undefined) return undefined;
  if (layer.route) return [pattern, Object.keys(layer.route.methods).sort().join(',')];
  if (layer.handle === handler) return [pattern];
  const found = isRouter(layer.handle) ? singleChain(layer.handle, handler, layers, depth + 1, chain) : undefined;
  return found ? [pattern, ...found] : undefined;
}

/** The pattern chain from `router` to the layer running `handler`, or null when not there. */
function find(router: Router, path: string, target: Target, depth: number): string[] | null {
  if (depth > MAX_DEPTH) return null;
  // Only layers with a way to the handler are matched against the path (they keep stack order).
  for (const layer of target.relevant.get(router) ?? []) {
    const text = matchedText(layer, path);
    if (text === null) continue;
    const pattern = patternOf(layer);
    if (pattern === undefined) continue;
    const route = layer.route;
    if (route) {
      if (handlesMethod(route, target.method) && route.stack.some((l) => l.handle === target.handler)) {
        return [pattern, Object.keys(route.methods).sort().join(',')];
      }
      continue;
    }
    if (layer.handle === target.handler) return [pattern];
    const [app, ...apps] = target.apps;
    const inside = isRouter(layer.handle) ? { router: layer.handle, apps: target.apps } : app && mountsApp(layer, router, app) ? { router: rootRouter(app), apps } : undefined;
    if (!inside?.router) continue;
    // As Express does: a mount must end at a path separator; the rest is routed inside.
    const next = path[text.length];
    const breaks = next === undefined || next === '/' || text.endsWith('/') || (next === '.' && layer.regexp instanceof RegExp); // Express 4 also allows '.'
    if (!breaks) continue;
    const rest = path.slice(text.length);
    const found = find(inside.router, rest.startsWith('/') ? rest : `/${rest}`, { ...target, apps: inside.apps }, depth + 1);
    if (found) return [pattern, ...found];
  }
  return null;
}

/** The app's root router: `_router` on Express 4 (whose `router` getter throws), `router` on Express 5. */
function rootRouter(app: App): Router | undefined {
  try {
    const root = app._router ?? app.router;
    return isRouter(root) ? root : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pathname of `url` as Express routes it: no query, and no `scheme://host` of an absolute-form
 * request target (RFC 9112 §3.2.2), which Express routes by its path.
 */
function pathname(url: string): string {
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  if (!path.startsWith('/')) {
    const scheme = path.indexOf('://');
    const slash = scheme === -1 ? -1 : path.indexOf('/', scheme + 3);
    path = slash === -1 ? '/' : path.slice(slash);
  }
  return path;
}

/**
 * The key of the route through which `req` reached `handler`: its layer patterns joined, plus the
 * route's methods. When only one chain of layers leads to the handler, that chain is the key with no
 * walk. Where the walk cannot explain the request (a `req.url` rewritten on the way), it falls back
 * to one budget per route pattern and handler's rules, whatever the mount.
 */
export function routeKeyOf(req: Request, handler: unknown): string {
  const app = req.app as unknown as App;
  const isObject = (typeof handler === 'function' || typeof handler === 'object') && handler !== null;
  // Only one way leads to the handler (the common case): its key, with no walk.
  const known = isObject ? relevantLayers.get(handler)?.get(app) : undefined;
  if (known?.single !== undefined && unchanged(known) && Date.now() - known.atMs < RECOLLECT_MS) return known.single;
  const apps = subApps(app);
  let top = app;
  while (top.parent) top = top.parent;
  const root = rootRouter(top);
  if (root && isObject) {
    const path = `${req.baseUrl}${pathname(req.url)}`;
    for (const fresh of [false, true]) {
      const collected = relevantTo(handler, app, root, apps, fresh);
      if (collected.single !== undefined) return collected.single;
      const found = find(root, path, { handler, method: req.method, apps, relevant: collected.layers }, 0);
      if (found) return found.join('\n');
    }
  }
  // Deliberately coarse, so a request that reaches it cannot pick among many budgets: one per route.
  return req.route?.path !== undefined ? `~${String(req.route.path)}\n${Object.keys(req.route.methods ?? {}).sort().join(',')}` : '~*';
}
