/**
 * @module `webtoolOpenAPI()`: the OpenAPI 3 document of a routing-controllers app, made by
 * `routing-controllers-openapi` and completed with what webtool's decorators decide at run time:
 * the bearer scheme with 401/403 on protected actions, 429 with the rate-limit fields on limited ones.
 * `routing-controllers-openapi` is an optional peer, loaded on first call like routing-controllers.
 */
import type { MetadataArgsStorage, RoutingControllersOptions } from 'routing-controllers';
import { ConfigurationError, InvalidOptionError } from '../errors';
import { requiresAuth } from './current-auth';
import { getLimiterRules } from './limiter';
import { routingControllers } from './routing-controllers';

type OpenAPIModule = typeof import('routing-controllers-openapi');
type Route = ReturnType<OpenAPIModule['parseRoutes']>[number];
type Json = Record<string, unknown>;

/** An OpenAPI 3.0 document, as JSON (typed loosely: webtool does not require an OpenAPI types package). */
export interface OpenAPIDocument {
  openapi: string;
  info: { title: string; version: string; [field: string]: unknown };
  paths: Record<string, Record<string, Json>>;
  components?: Json;
  [field: string]: unknown;
}

/** Options of {@link webtoolOpenAPI}. */
export interface OpenAPIOptions {
  /**
   * The options given to `useExpressServer`: `controllers` (classes) selects the documented
   * controllers, `routePrefix` prefixes the paths. Without class `controllers`, every decorated controller is documented.
   */
  routingControllersOptions?: RoutingControllersOptions;
  /** Merged (deeply) into the document: `info`, `servers`, extra `components`… */
  additionalProperties?: Json;
  /** Where the decorators recorded their metadata. @default routing-controllers' `getMetadataArgsStorage()` */
  storage?: MetadataArgsStorage;
  /** The name of the bearer scheme in `components.securitySchemes`. @default 'bearerAuth' */
  securitySchemeName?: string;
}

const SCHEMA_REF = '#/components/schemas/';
const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
const PROBLEM_SCHEMA = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'A stable ERR_WT_* code' },
  },
};
const WWW_AUTHENTICATE = { description: 'The RFC 6750 challenge: `Bearer`, with `error="invalid_token"` or `error="insufficient_scope"`', schema: { type: 'string' } };
const RATE_LIMIT_FIELDS = {
  'Retry-After': { description: 'Seconds to wait before retrying (absent when the cost exceeds the whole limit)', schema: { type: 'integer', minimum: 1 } },
  RateLimit: { description: 'Per policy: `"name";r=<remaining>;t=<seconds to reset>` (draft-ietf-httpapi-ratelimit-headers)', schema: { type: 'string' } },
  'RateLimit-Policy': { description: 'Per policy: `"name";q=<quota>;w=<window seconds>`', schema: { type: 'string' } },
};

let loaded: OpenAPIModule | undefined;
function openAPIModule(): OpenAPIModule {
  if (!loaded) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require('routing-controllers-openapi') as OpenAPIModule;
    } catch (err) {
      throw new ConfigurationError('webtoolOpenAPI needs routing-controllers-openapi: npm install routing-controllers-openapi', { cause: err });
    }
  }
  return loaded;
}

/** The roles `@Authorized` asks of an action (controller and action level), or undefined without `@Authorized`. */
function authorizedRoles(storage: MetadataArgsStorage, route: Route): string[] | undefined {
  const handlers = storage.responseHandlers.filter(
    (h) => h.type === 'authorized' && h.target === route.action.target && (h.method === undefined || h.method === route.action.method),
  );
  if (handlers.length === 0) return undefined;
  return handlers.flatMap((h) => (h.value === undefined ? [] : ([] as unknown[]).concat(h.value).map(String)));
}

/** The names of the `#/components/schemas/*` the document refers to. */
function schemaRefs(value: unknown, names = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) schemaRefs(item, names);
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string' && item.startsWith(SCHEMA_REF)) names.add(decodeURIComponent(item.slice(SCHEMA_REF.length)));
      else schemaRefs(item, names);
    }
  }
  return names;
}

/** Adds what webtool answers on this action: security with 401/403, 429 with the rate-limit fields; true when protected. */
function complete(operation: Json, storage: MetadataArgsStorage, route: Route, scheme: string): boolean {
  const responses = (operation.responses ??= {}) as Json;
  const roles = authorizedRoles(storage, route);
  const prototype = (route.action.target as { prototype?: object }).prototype ?? route.action.target;
  const secured = roles !== undefined || requiresAuth(prototype, route.action.method);
  if (secured) {
    operation.security ??= [{ [scheme]: [] }];
    responses['401'] ??= { description: 'No valid access token (missing, invalid, expired or revoked)', headers: { 'WWW-Authenticate': WWW_AUTHENTICATE }, content: PROBLEM };
    // Only @Authorized with roles can answer 403 (webtool's and routing-controllers' checkers alike).
    if (roles?.length) responses['403'] ??= { description: `The token lacks a scope: ${roles.join(', ')}`, headers: { 'WWW-Authenticate': WWW_AUTHENTICATE }, content: PROBLEM };
  }
  if (getLimiterRules(prototype, route.action.method).length > 0) {
    responses['429'] ??= { description: 'Rate limit exceeded', headers: RATE_LIMIT_FIELDS, content: PROBLEM };
  }
  return secured;
}

/**
 * The OpenAPI 3 document of the app's controllers (Swagger UI shows its "Authorize" button for it):
 * actions with `@Authorized` or `@CurrentAuth({ required: true })` get the bearer security
 * requirement (`components.securitySchemes.bearerAuth`, `type: http`, `scheme: bearer`, JWT) and a
 * problem+json 401 (and 403 when `@Authorized` names roles); actions with `@Limiter` get a 429 with
 * `Retry-After`, `RateLimit` and `RateLimit-Policy`. What an `@OpenAPI` decorator sets is kept.
 * @throws ConfigurationError when routing-controllers-openapi is not installed
 * @throws InvalidOptionError for a bad `securitySchemeName`
 * @example app.get('/openapi.json', (req, res) => res.json(webtoolOpenAPI({ routingControllersOptions })));
 */
export function webtoolOpenAPI(options: OpenAPIOptions = {}): OpenAPIDocument {
  const { routingControllersOptions = {}, additionalProperties = {}, securitySchemeName: scheme = 'bearerAuth' } = options;
  if (typeof scheme !== 'string' || !/^[A-Za-z0-9._-]+$/.test(scheme)) {
    throw new InvalidOptionError('securitySchemeName', 'must match ^[A-Za-z0-9._-]+$ (an OpenAPI component name)');
  }
  const oa = openAPIModule();
  const storage = options.storage ?? routingControllers().getMetadataArgsStorage();
  // Only the listed controllers: the storage holds every controller ever decorated in the process.
  const listed = (routingControllersOptions.controllers ?? []).filter((c): c is Function => typeof c === 'function');
  const actions = listed.length ? storage.actions.filter((a) => listed.includes(a.target)) : storage.actions.filter((a) => storage.controllers.some((c) => c.target === a.target));
  const view = Object.create(storage, { actions: { value: actions } }) as MetadataArgsStorage;

  const document = oa.routingControllersToSpec(view, routingControllersOptions, additionalProperties) as unknown as OpenAPIDocument;
  let secured = false;
  for (const route of oa.parseRoutes(view, routingControllersOptions)) {
    const operation = document.paths[oa.getFullPath(route)]?.[route.action.type.toLowerCase()];
    if (!operation) continue;
    if (complete(operation, storage, route, scheme)) secured = true;
  }
  const components = (document.components ??= {}) as Json;
  const schemas = (components.schemas ??= {}) as Json;
  schemas.Problem ??= PROBLEM_SCHEMA;
  // routing-controllers-openapi refers to @Body classes by name without defining them: a dangling $ref
  // makes the document invalid, so each missing one becomes a plain object until the caller passes it.
  for (const name of schemaRefs(document)) schemas[name] ??= { type: 'object', description: 'No schema given (pass it in additionalProperties.components.schemas)' };
  if (secured) {
    const schemes = (components.securitySchemes ??= {}) as Json;
    schemes[scheme] ??= { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' };
  }
  return document;
}
