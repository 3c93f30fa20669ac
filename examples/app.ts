/**
 * The example app on routing-controllers: GET /token/ issues a pair, GET /get_user/ returns the
 * caller's AuthData, /api/1/ /api/2/ /api/3/ are limited, GET /openapi.json describes them.
 * `npm start` runs it on the embedded InMemoryCache (Redis when REDIS_URL is set) together with the
 * DB example of examples/db-app.ts (POST /users, POST /login, PUT /password) on embedded PGlite
 * (PostgreSQL when DATABASE_URL is set).
 */
import 'reflect-metadata';
import express from 'express';
import { Get, JsonController, useExpressServer } from 'routing-controllers';
import {
  AnnoSessionBackend,
  CurrentAuth,
  InMemoryCache,
  JWTBackend,
  JWTService,
  Limiter,
  RedisCache,
  authorizationChecker,
  currentUserChecker,
  limitMiddleware,
  makeEdKey,
  webtoolOpenAPI,
  type AuthData,
  type Cache,
} from '../src';
import { createDbApp } from './db-app';

let jwtService: JWTService;

@JsonController()
class ApiController {
  @Get('/token/')
  async getToken() {
    return jwtService.createToken({ sub: '123' });
  }

  @Get('/get_user/')
  authInfo(@CurrentAuth({ required: true }) auth: AuthData) {
    return auth;
  }

  @Get('/api/1/')
  @Limiter(10, 10)
  resource1() {
    return { status: 'success' };
  }

  @Get('/api/2/')
  @Limiter(10, 10, ['anno'])
  resource2() {
    return { status: 'success' };
  }

  @Get('/api/3/')
  @Limiter(10, 10, ['user'])
  resource3() {
    return { status: 'success' };
  }
}

/** Builds the app; `close()` releases the cache and the token service. */
export function createApp(options: { redisUrl?: string; keyPrefix?: string; secure?: boolean } = {}) {
  const cache: Cache = options.redisUrl ? new RedisCache(options.redisUrl, { keyPrefix: options.keyPrefix }) : new InMemoryCache();
  // JWTService keeps its sessions in Redis (Lua scripts, pub/sub revocations) when the cache is a RedisCache.
  jwtService = new JWTService(cache, { secretKey: makeEdKey() });

  const app = express();
  app.use(
    limitMiddleware({
      cache,
      authBackend: new JWTBackend(jwtService),
      // Secure cookies need HTTPS; this example also serves plain HTTP on localhost.
      annoBackend: new AnnoSessionBackend({ secure: options.secure ?? false, secret: process.env.SESSION_SECRET }),
    }),
  );
  useExpressServer(app, { controllers: [ApiController], authorizationChecker, currentUserChecker });
  // The OpenAPI 3 document: bearer security and 401 on /get_user/, 429 on the limited routes.
  const openapi = webtoolOpenAPI({ routingControllersOptions: { controllers: [ApiController] }, additionalProperties: { info: { title: 'webtool example', version: '1.0.0' } } });
  app.get('/openapi.json', (req, res) => res.json(openapi));
  // routing-controllers answers errors itself, then passes them on; stop them here so Express
  // does not log a 401 as if it were a crash.
  app.use((err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (!res.headersSent) next(err);
  });

  const close = async () => {
    await jwtService.close();
    await cache.close();
  };
  return { app, close };
}

if (require.main === module) {
  const started = performance.now();
  const { app } = createApp({ redisUrl: process.env.REDIS_URL });
  // The DB example's routes (users table, scrypt login) on the same server, once its schema is applied.
  void createDbApp().then(({ app: dbApp }) => {
    app.use(dbApp);
    const server = app.listen(Number(process.env.PORT ?? 8000), '127.0.0.1', () => {
      const { port } = server.address() as import('node:net').AddressInfo;
      console.log(`webtool example on http://127.0.0.1:${port} (ready in ${Math.round(performance.now() - started)} ms)`);
    });
  });
}
