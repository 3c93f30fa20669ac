import 'reflect-metadata';
import express from 'express';
import { Authorized, BodyParam, Get, JsonController, Post, useExpressServer } from 'routing-controllers';
import {
  CurrentAuth,
  InMemoryCache,
  JWTBackend,
  JWTService,
  Limiter,
  RedisCache,
  UnauthorizedError,
  authorizationChecker,
  currentUserChecker,
  limitMiddleware,
  makeEdKey,
  webtoolErrorHandler,
  type AuthData,
} from 'webtool';

// Redis when REDIS_URL is set (limits and sessions shared by every process), else this process only.
const cache = process.env.REDIS_URL ? new RedisCache(process.env.REDIS_URL) : new InMemoryCache();
// In production load a fixed key (`npx webtool keygen --type ed25519`): a new key logs everyone out.
const jwtService = new JWTService(cache, { secretKey: process.env.JWT_KEY ?? makeEdKey() });

@JsonController()
class AuthController {
  @Post('/login')
  @Limiter(10, 60) // 10 attempts a minute per caller
  async login(@BodyParam('username') username: string, @BodyParam('password') password: string) {
    // Check the password against your user store here.
    if (username !== 'alice' || password !== 'wonderland') throw new UnauthorizedError('Wrong username or password');
    const [accessToken, refreshToken] = await jwtService.createToken({ sub: username, scope: ['admin'] });
    return { accessToken, refreshToken };
  }

  @Post('/refresh')
  async refresh(@BodyParam('refreshToken') refreshToken: string) {
    // Re-issues the refresh token's own claims; a retry within the grace answers the same pair.
    const pair = await jwtService.updateToken(refreshToken);
    if (!pair) throw new UnauthorizedError('Invalid refresh token');
    return { accessToken: pair[0], refreshToken: pair[1] };
  }

  @Post('/logout')
  async logout(@BodyParam('refreshToken') refreshToken: string) {
    return { loggedOut: await jwtService.invalidateToken(refreshToken) };
  }

  @Get('/me')
  me(@CurrentAuth({ required: true }) auth: AuthData) {
    return auth;
  }

  @Get('/admin')
  @Authorized(['admin'])
  admin() {
    return { admin: true };
  }

  @Get('/hello')
  @Limiter(5, 60) // 5 a minute per caller; the 6th gets 429
  hello(@CurrentAuth() auth?: AuthData) {
    return { hello: auth?.identifier ?? 'anonymous' };
  }
}

const app = express();
app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwtService) }));
useExpressServer(app, {
  controllers: [AuthController],
  middlewares: [webtoolErrorHandler()],
  defaultErrorHandler: false,
  authorizationChecker,
  currentUserChecker,
});

const port = Number(process.env.PORT ?? 3000);
app.listen(port, () => console.log(`listening on http://localhost:${port}`));
