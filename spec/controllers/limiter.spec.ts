import 'reflect-metadata';
import { expect } from 'chai';
import express, { type Express } from 'express';
import request from 'supertest';
import { Get, JsonController, useExpressServer } from 'routing-controllers';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { Limiter } from '../../src/controllers/limiter';
import { limitMiddleware } from '../../src/throttle/limit-middleware';

/** A controller class named `Api` at `route`: every call makes another class of the same name. */
function apiController(route: string) {
  @JsonController(route)
  class Api {
    @Get('/list')
    @Limiter(3, 60)
    list() {
      return { route };
    }
  }
  return Api;
}

@JsonController('/h')
class HeadController {
  static ran = 0;

  @Get('/g')
  @Limiter(3, 60, [], { method: 'GET' })
  g() {
    HeadController.ran++;
    return { ok: true };
  }
}

function appWith(controllers: Function[]): Express {
  const app = express();
  app.use(limitMiddleware({ cache: new InMemoryCache(), backends: [new IPBackend()] }));
  useExpressServer(app, { controllers, defaultErrorHandler: true });
  return app;
}

describe('@Limiter budgets', () => {
  it('keys budgets by route: two controllers with one class and method name keep separate budgets', async () => {
    const app = appWith([apiController('/v1'), apiController('/v2')]);
    for (let i = 0; i < 3; i++) await request(app).get('/v1/list').expect(200);
    await request(app).get('/v1/list').expect(429);
    const other = await request(app).get('/v2/list').expect(200);
    expect(other.body).to.deep.equal({ route: '/v2' });
    expect(other.headers.ratelimit).to.equal('"3-in-60s";r=2;t=60');
  });

  it('keeps one budget across letter-case spellings of the route', async () => {
    const app = appWith([apiController('/v3')]);
    const codes: number[] = [];
    for (const path of ['/v3/list', '/V3/list', '/v3/LIST', '/V3/List/', '/v3/list']) codes.push((await request(app).get(path)).status);
    expect(codes).to.deep.equal([200, 200, 200, 429, 429]);
  });

  it('counts HEAD under a GET rule; the action runs only when admitted', async () => {
    HeadController.ran = 0;
    const app = appWith([HeadController]);
    await request(app).get('/h/g').expect(200);
    const heads: number[] = [];
    for (let i = 0; i < 5; i++) heads.push((await request(app).head('/h/g')).status);
    expect(heads).to.deep.equal([200, 200, 429, 429, 429]);
    expect(HeadController.ran).to.equal(3);
  });
});
