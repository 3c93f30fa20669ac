/**
 * An API whose callers bring access tokens from an external OpenID provider (Keycloak, Auth0, Entra ID,
 * Cognito… — the spec runs it against a local `oidc-provider`). JWT access tokens are verified against
 * the provider's JWKS; opaque ones are introspected. `@Authorized('read')` needs the `read` scope.
 * Run: `ISSUER=https://sso.example.com/realms/main AUDIENCE=orders-api npx ts-node examples/oidc.ts`
 */
import 'reflect-metadata';
import express from 'express';
import { Authorized, Get, JsonController, useExpressServer } from 'routing-controllers';
import {
  CurrentAuth,
  InMemoryCache,
  Limiter,
  OIDCBackend,
  authorizationChecker,
  currentUserChecker,
  keycloakRoles,
  limitMiddleware,
  WebtoolError,
  type AuthData,
} from '../src';

@JsonController()
class OrdersController {
  @Get('/orders')
  @Authorized('read')
  @Limiter(100, 60, ['user'])
  list(@CurrentAuth({ required: true }) auth: AuthData) {
    return { owner: auth.identifier, roles: auth.extra.roles, orders: [] };
  }
}

/** Options of the example app. */
export interface OidcAppOptions {
  issuer: string;
  audience: string;
  /** Credentials of this API at the provider, for opaque tokens. */
  introspection?: { clientId: string; clientSecret: string };
}

/** Builds the app; `close()` releases the cache. */
export function createOidcApp(options: OidcAppOptions) {
  const { issuer, audience, introspection } = options;
  const cache = new InMemoryCache();
  const app = express();
  app.use(
    limitMiddleware({
      cache,
      backends: [
        new OIDCBackend({
          issuer, // tokens must carry exactly this `iss`; keys come from its discovery document
          audience, // and name this API in `aud`
          roles: keycloakRoles({ clientId: audience }),
          introspection, // opaque tokens: RFC 7662 (optional)
          onIssuerFailure: 'unavailable', // provider down or slow: 503 within timeoutMs
        }),
      ],
    }),
  );
  useExpressServer(app, { controllers: [OrdersController], authorizationChecker, currentUserChecker });
  app.use((err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return; // routing-controllers answered it already
    // e.g. 503 IssuerUnavailableError; toJSON() sends problem fields only
    if (err instanceof WebtoolError) res.status(err.status).type('application/problem+json').send(JSON.stringify(err));
    else next(err);
  });
  return { app, close: () => cache.close() };
}

if (require.main === module) {
  const { app } = createOidcApp({ issuer: process.env.ISSUER!, audience: process.env.AUDIENCE! });
  const port = Number(process.env.PORT ?? 8000);
  app.listen(port, '127.0.0.1', () => console.log(`webtool OIDC example on http://127.0.0.1:${port}`));
}
