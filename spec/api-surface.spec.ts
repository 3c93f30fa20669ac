/**
 * @module The public surface, written down: every name (values and types) that the root and each
 * subpath export. A change here is a change of the public API — make it on purpose, and update this
 * list in the same commit. Internals (Lua loading, key building, option parsers, the enforcement
 * engine) stay importable by their module path inside this repo, never from the package.
 */
import { join } from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';

const ERRORS = [
  'CacheUnavailableError', 'ConfigurationError', 'DbClosedError', 'DbUnavailableError', 'ForbiddenError', 'InvalidClaimsError',
  'InvalidKeyError', 'InvalidOptionError', 'IssuerUnavailableError', 'KeyFileExistsError', 'KeyPasswordError',
  'LockLimitError', 'LockLostError', 'LockTimeoutError', 'OutcomeUnknownError', 'ProblemDetails', 'ResponseFailedError', 'ResponseTooLargeError', 'SerializationError', 'StoreUnavailableError',
  'TransactionAbortedError', 'TransactionControlError', 'TransactionPropagationError', 'UnauthorizedError', 'WeakKeyError', 'WebtoolError',
];

const SUBPATHS: Record<string, string[]> = {
  cache: [
    'Cache', 'InMemoryCache', 'InMemoryCacheOptions', 'LOCK_DEFAULTS', 'Lock', 'LockOptions', 'Logger', 'ReadyOptions', 'RedisCache',
    'RedisCacheOptions', 'SetOptions', 'WithLockOptions', 'withLock',
  ],
  auth: [
    'ASYMMETRIC_ALGORITHMS', 'AccessPayload', 'AccessTokenValidator', 'AnnoSessionBackend', 'AnnoSessionOptions',
    'AsymmetricAlgorithm', 'AuthBackend', 'AuthData', 'AuthResult', 'BaseClaims', 'DEFAULT_MINT_BUDGET', 'INTERNAL_CLAIMS',
    'IPBackend', 'IdentifyOptions', 'Identity', 'IdentityKind', 'IntrospectionOptions', 'IssuedClaims', 'JWKSet', 'JWTBackend',
    'JWTService', 'JWTServiceOptions', 'JwksHandlerOptions', 'MAX_AUTHORIZATION_LENGTH', 'MAX_SESSION_COOKIE_LENGTH',
    'MAX_TOKEN_LENGTH', 'OIDCBackend', 'OIDCBackendOptions', 'PreviousKey', 'RedisJWTService', 'RefreshPayload', 'RolesMapper',
    'SessionBackend', 'SessionBackendOptions', 'SessionOffer', 'SessionVerifier', 'TOKEN_TYP', 'bearerToken', 'claimsToAuthData',
    'getIdentity', 'identify', 'jwksHandler', 'keycloakRoles', 'parseScope', 'toAuthData',
  ],
  utils: [
    'IpKeyOptions', 'JWSAlgorithm', 'LoadKeyOptions', 'LoadedKey', 'MIN_SECRET_BYTES', 'MakeKeyOptions', 'ipKey', 'loadKey',
    'makeEcKey', 'makeEdKey', 'makeRsaKey', 'makeSymmetricKey', 'saveKey',
  ],
  throttle: [
    'Algorithm', 'ConsumeRule', 'CreateStoreOptions', 'Decision', 'FailurePolicy', 'HeaderOptions', 'LimitHandler', 'LimitInfo',
    'LimitMiddleware', 'LimitMiddlewareOptions', 'LimitOptions', 'LimiterHandler', 'MAX_SLIDING_LOG_LIMIT', 'MemoryStore', 'MemoryStoreOptions',
    'NamedOutcome', 'RATE_LIMIT_HEADERS', 'RateLimitStore', 'RedisStore', 'RedisStoreOptions', 'RequestFn', 'ResilientStore',
    'ResilientStoreOptions', 'Rule', 'RuleOutcome', 'RuleSubject', 'createStore', 'exposeRateLimitHeaders', 'limitMiddleware',
    'limiter', 'quotaExceededProblem', 'rulesMiddleware', 'setRateLimitHeaders',
  ],
  controllers: [
    'CurrentAuth', 'ErrorMiddlewareClass', 'Limiter', 'authorizationChecker', 'currentUserChecker', 'getLimiterRules',
    'webtoolErrorHandler',
    'OpenAPIDocument', 'OpenAPIOptions', 'webtoolOpenAPI',
  ],
  db: [
    'Database', 'DatabaseOptions', 'DatabaseRef', 'DbLogger', 'Driver', 'DriverHealth', 'Health', 'IsolationLevel', 'Lease',
    'PGliteDriver', 'PGliteDriverOptions', 'PgDriver', 'PgDriverOptions', 'PoolStats', 'Propagation', 'QueryInput',
    'QueryResult', 'RETRYABLE_SQLSTATES', 'RetryOptions', 'ScopedClient', 'ScopedPool', 'SqlClient', 'TransactionOptions',
    'Transactional', 'TransactionalMiddlewareOptions', 'transactional', 'withRollback',
  ],
  express: [
    'ErrorHandlerOptions', 'ErrorLogger', 'errorHandler',
  ],
};

const INTERNALS = [
  'luaCommand', 'readLua', 'REDIS_DEFAULTS', 'parseLimitOptions', 'enforceRules', 'getContext', 'ruleKey', 'redisKey', 'compactKey',
  'escapeTag', 'resolveIdentity', 'checkOptions', 'createRule', 'policyName', 'ruleApplies', 'retryAfterSeconds',
  'requiresAuth',
];

const src = join(__dirname, '..', 'src');
const entries: Record<string, string> = { '.': join(src, 'index.ts') };
for (const subpath of Object.keys(SUBPATHS)) entries[subpath] = join(src, subpath, 'index.ts');

describe('the public API surface', function () {
  this.timeout(60_000);
  const exported: Record<string, string[]> = {};

  before(() => {
    const program = ts.createProgram(Object.values(entries), { skipLibCheck: true, experimentalDecorators: true, types: ['node'], noEmit: true });
    const checker = program.getTypeChecker();
    for (const [entry, file] of Object.entries(entries)) {
      const symbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
      exported[entry] = checker.getExportsOfModule(symbol).map((s) => s.getName()).sort();
    }
  });

  for (const [subpath, names] of Object.entries(SUBPATHS)) {
    it(`webtool/${subpath} exports exactly its listed names and the error classes`, () => {
      expect(exported[subpath]).to.deep.equal([...names, ...ERRORS].sort());
    });
  }

  it('webtool exports the union of the subpaths, nothing more', () => {
    expect(exported['.']).to.deep.equal([...new Set([...Object.values(SUBPATHS).flat(), ...ERRORS])].sort());
  });

  it('exports no internal from any entry point', () => {
    for (const [entry, names] of Object.entries(exported)) expect(names.filter((n) => INTERNALS.includes(n)), entry).to.deep.equal([]);
  });

  it('the runtime exports match the declared values (no type-only name missing at run time)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const root = Object.keys(require(entries['.'])).sort();
    expect(exported['.']).to.include.members(root);
    expect(root).to.include.members(['errorHandler', 'limitMiddleware', 'WebtoolError', 'webtoolErrorHandler']);
  });
});
