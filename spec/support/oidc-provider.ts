/**
 * @module A real OpenID provider (`oidc-provider`, the certified Node implementation) on loopback for
 * the specs: client_credentials with resource indicators issues RFC 9068 JWT access tokens (or opaque
 * ones, for introspection). Keys can be rotated by swapping the provider behind the same issuer URL,
 * and the JWKS endpoint counts its hits.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

// oidc-provider is ESM-only; Node ≥ 20.19 loads it with require(esm). Typed loosely on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ProviderClass = new (issuer: string, config: Record<string, unknown>) => any;

/** The resource (API) whose tokens are JWTs, and the one whose tokens are opaque. */
export const JWT_API = 'https://api.example.test/jwt';
export const OPAQUE_API = 'https://api.example.test/opaque';
export const CLIENT = { id: 'machine', secret: 'machine-secret-0123456789abcdefghij' };
export const RS_CLIENT = { id: 'resource-server', secret: 'rs-secret-0123456789abcdefghijklmn' };

/** A signing key for the provider, with its kid. */
export async function providerKey(kid: string, alg: 'RS256' | 'ES256' = 'ES256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

export interface TestProvider {
  issuer: string;
  /** Hits on the JWKS endpoint so far. */
  jwksHits: number;
  /** Hits on the introspection endpoint so far. */
  introspectionHits: number;
  /** Requests of any kind so far. */
  requests: number;
  /** Serves these keys from now on (the first signs). */
  setKeys(keys: JWK[]): void;
  /** Answers every request after `delayMs` (or never, with Infinity) — a slow or hung issuer. */
  delayMs: number;
  /** When set, the next introspection request is answered with this status and an empty body. */
  failNextIntrospection?: number;
  /** An access token from client_credentials for `resource` (JWT_API or OPAQUE_API). */
  token(resource?: string, scope?: string): Promise<string>;
  close(): Promise<void>;
}

/** Extra claims every access token carries (Keycloak-style roles, a `__proto__` member). */
export const EXTRA_CLAIMS = {
  realm_access: { roles: ['admin', 'user'] },
  resource_access: { machine: { roles: ['reader'] } },
};

/**
 * Runs `fn` with oidc-provider's own warnings kept out of the test output: at import it warns that
 * Node 20 is not an LTS it supports (it asks for 22+; the specs pass on 20), and each instance warns
 * that it uses its development in-memory store — both expected of a test fixture.
 */
function quietly<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider WARNING')) warn(...args);
  };
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

/** Starts a provider on 127.0.0.1 with `keys` (the first signs). */
export async function startProvider(keys: JWK[], options: { accessTokenTtlS?: number } = {}): Promise<TestProvider> {
  const { default: Provider } = quietly(() => require('oidc-provider') as { default: ProviderClass });
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let callback: (req: unknown, res: unknown) => void = () => undefined;
  const make = (jwks: JWK[]) => {
    const alg = jwks[0].alg;
    const provider = quietly(() => new Provider(issuer, {
      clients: [
        { client_id: CLIENT.id, client_secret: CLIENT.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], id_token_signed_response_alg: alg },
        { client_id: RS_CLIENT.id, client_secret: RS_CLIENT.secret, grant_types: [], redirect_uris: [], response_types: [], id_token_signed_response_alg: alg },
      ],
      jwks: { keys: jwks },
      features: {
        clientCredentials: { enabled: true },
        introspection: {
          enabled: true,
          // Only our resource server may introspect (RFC 7662 §4: the endpoint must be protected).
          allowedPolicy: (_ctx: unknown, client: { clientId: string }) => client.clientId === RS_CLIENT.id,
        },
        devInteractions: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => JWT_API,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => ({
            scope: 'read write',
            audience: resource,
            accessTokenTTL: options.accessTokenTtlS ?? 300,
            accessTokenFormat: resource === OPAQUE_API ? 'opaque' : 'jwt',
            jwt: { sign: { alg } },
          }),
        },
      },
      ttl: { ClientCredentials: () => options.accessTokenTtlS ?? 300 },
      extraTokenClaims: () => ({ ...EXTRA_CLAIMS }),
    }));
    provider.on('server_error', (_ctx: unknown, err: Error) => { if (process.env.OIDC_DEBUG) console.error(err); });
    return provider.callback();
  };
  callback = make(keys);
  const counter = {
    issuer,
    jwksHits: 0,
    introspectionHits: 0,
    requests: 0,
    delayMs: 0,
    failNextIntrospection: undefined as number | undefined,
    setKeys(next: JWK[]) {
      callback = make(next);
    },
    async token(resource = JWT_API, scope = 'read') {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  server.on('request', (req, res) => {
    counter.requests++;
    if (req.url?.startsWith('/jwks')) counter.jwksHits++;
    if (req.url?.startsWith('/token/introspection')) {
      counter.introspectionHits++;
      if (counter.failNextIntrospection !== undefined) {
        res.writeHead(counter.failNextIntrospection).end();
        counter.failNextIntrospection = undefined;
        return;
      }
    }
    if (counter.delayMs === Infinity) return; // a hung issuer: never answers
    if (counter.delayMs > 0) setTimeout(() => callback(req, res), counter.delayMs).unref();
    else callback(req, res);
  });
  return counter;
}
