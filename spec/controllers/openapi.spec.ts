import 'reflect-metadata';
import SwaggerParser from '@apidevtools/swagger-parser';
import { expect } from 'chai';
import request from 'supertest';
import { Authorized, Body, Get, JsonController, Post } from 'routing-controllers';
import { OpenAPI } from 'routing-controllers-openapi';
import type { AuthData } from '../../src/auth';
import { CurrentAuth, InvalidOptionError, Limiter, webtoolOpenAPI, type OpenAPIDocument } from '../../src/controllers';
import { createApp } from '../../examples/app';

class ItemBody {
  name!: string;
}

@JsonController('/oa')
class OpenController {
  @Get('/public')
  open() {
    return {};
  }

  @Post('/items')
  create(@Body() body: ItemBody) {
    return body;
  }

  @Get('/maybe')
  maybe(@CurrentAuth() auth: AuthData | undefined) {
    return auth ?? null;
  }

  @Get('/me')
  me(@CurrentAuth({ required: true }) auth: AuthData) {
    return auth;
  }

  @Get('/signed-in')
  @Authorized()
  signedIn() {
    return {};
  }

  @Get('/admin')
  @Authorized(['admin', 'audit'])
  admin() {
    return {};
  }

  @Get('/limited')
  @Limiter(5, 60)
  limited() {
    return {};
  }

  @Post('/login')
  @Limiter(10, 60)
  @Limiter(100, 3600)
  @OpenAPI({ summary: 'Log in', responses: { '429': { description: 'Slow down' } } })
  login() {
    return {};
  }
}

@JsonController('/oa-admin')
@Authorized('admin')
class AdminController {
  @Get('/stats')
  stats() {
    return {};
  }
}

@JsonController('/oa-unlisted')
class UnlistedController {
  @Get('/x')
  x() {
    return {};
  }
}

const controllers = [OpenController, AdminController];
const op = (doc: OpenAPIDocument, path: string, method = 'get') => doc.paths[path][method] as { security?: unknown; responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }> };

describe('webtoolOpenAPI', () => {
  let doc: OpenAPIDocument;
  before(() => {
    void UnlistedController;
    doc = webtoolOpenAPI({ routingControllersOptions: { controllers }, additionalProperties: { info: { title: 'spec', version: '2.0.0' } } });
  });

  it('is a valid OpenAPI 3 document (swagger-parser) with a path and operation per listed action', async () => {
    expect(doc.openapi).to.match(/^3\.\d+\.\d+$/);
    expect(doc.info).to.include({ title: 'spec', version: '2.0.0' });
    await SwaggerParser.validate(structuredClone(doc) as never);
    expect(Object.keys(doc.paths).sort()).to.deep.equal(['/oa-admin/stats', '/oa/admin', '/oa/items', '/oa/limited', '/oa/login', '/oa/maybe', '/oa/me', '/oa/public', '/oa/signed-in']);
    expect(op(doc, '/oa/items', 'post')).to.have.property('requestBody'); // the @Body type, read through decorator metadata
    // routing-controllers-openapi refers to the @Body class without defining it: filled in, or kept when given
    expect((doc.components as { schemas: Record<string, unknown> }).schemas.ItemBody).to.include({ type: 'object' });
    const ItemBody = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } };
    const given = webtoolOpenAPI({ routingControllersOptions: { controllers }, additionalProperties: { components: { schemas: { ItemBody } } } });
    expect((given.components as { schemas: Record<string, unknown> }).schemas.ItemBody).to.deep.equal(ItemBody);
  });

  it('documents only the listed controllers', () => {
    expect(doc.paths).to.not.have.property('/oa-unlisted/x');
    const all = webtoolOpenAPI();
    expect(all.paths).to.have.property('/oa-unlisted/x');
  });

  it('declares the bearer JWT scheme and requires it on @CurrentAuth({ required: true }) and @Authorized actions only', () => {
    expect((doc.components as { securitySchemes: unknown }).securitySchemes).to.deep.equal({ bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
    for (const path of ['/oa/me', '/oa/signed-in', '/oa/admin', '/oa-admin/stats']) {
      expect(op(doc, path).security, path).to.deep.equal([{ bearerAuth: [] }]);
      expect(op(doc, path).responses['401'].content, path).to.have.property('application/problem+json');
      expect(op(doc, path).responses['401'].headers, path).to.have.property('WWW-Authenticate');
    }
    for (const [path, method] of [['/oa/public', 'get'], ['/oa/items', 'post'], ['/oa/maybe', 'get'], ['/oa/limited', 'get'], ['/oa/login', 'post']]) {
      expect(op(doc, path, method), path).to.not.have.property('security');
      expect(op(doc, path, method).responses, path).to.not.have.any.keys('401', '403');
    }
  });

  it('documents 403 only where @Authorized names roles (the only actions that can answer it)', () => {
    expect(op(doc, '/oa/admin').responses['403'].content).to.have.property('application/problem+json');
    expect(op(doc, '/oa-admin/stats').responses).to.have.property('403');
    expect(op(doc, '/oa/me').responses).to.not.have.property('403');
    expect(op(doc, '/oa/signed-in').responses).to.not.have.property('403');
  });

  it('documents 429 with Retry-After, RateLimit and RateLimit-Policy on @Limiter actions only', () => {
    const limited = op(doc, '/oa/limited').responses['429'];
    expect(limited.headers).to.have.keys('Retry-After', 'RateLimit', 'RateLimit-Policy');
    expect(limited.content).to.have.property('application/problem+json');
    for (const [path, method] of [['/oa/public', 'get'], ['/oa/me', 'get'], ['/oa/admin', 'get'], ['/oa-admin/stats', 'get']]) {
      expect(op(doc, path, method).responses, path).to.not.have.property('429');
    }
  });

  it('keeps what an @OpenAPI decorator says', () => {
    const login = op(doc, '/oa/login', 'post') as unknown as { summary: string; responses: Record<string, unknown> };
    expect(login.summary).to.equal('Log in');
    expect(login.responses['429']).to.deep.equal({ description: 'Slow down' });
  });

  it('names the scheme as told, and refuses a name that is no component name', () => {
    const named = webtoolOpenAPI({ routingControllersOptions: { controllers }, securitySchemeName: 'jwt' });
    expect(op(named, '/oa/me').security).to.deep.equal([{ jwt: [] }]);
    expect((named.components as { securitySchemes: object }).securitySchemes).to.have.keys('jwt');
    try {
      webtoolOpenAPI({ securitySchemeName: 'a b' });
      expect.fail('accepted');
    } catch (err) {
      expect(err).to.be.instanceOf(InvalidOptionError);
      expect(err).to.include({ code: 'ERR_WT_INVALID_OPTION', option: 'securitySchemeName' });
    }
  });

  it('declares no scheme when no action is protected', () => {
    const open = webtoolOpenAPI({ routingControllersOptions: { controllers: [UnlistedController] } });
    expect(open.components).to.not.have.property('securitySchemes');
  });
});

describe('webtoolOpenAPI without routing-controllers-openapi installed', () => {
  it('webtool still imports; the call throws ConfigurationError naming the package', () => {
    const Module = require('node:module') as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
    const resolve = Module._resolveFilename;
    const fresh = [require.resolve('../../src'), require.resolve('../../src/controllers'), require.resolve('../../src/controllers/openapi')];
    const saved = fresh.map((file) => require.cache[file]);
    Module._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
      if (request === 'routing-controllers-openapi') throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
      return resolve.call(this, request, ...rest);
    };
    try {
      for (const file of fresh) delete require.cache[file];
      const webtool = require('../../src') as typeof import('../../src');
      expect(webtool.webtoolOpenAPI).to.be.a('function');
      expect(() => webtool.webtoolOpenAPI()).to.throw(webtool.ConfigurationError, /npm install routing-controllers-openapi/);
    } finally {
      Module._resolveFilename = resolve;
      fresh.forEach((file, i) => (require.cache[file] = saved[i]));
    }
  });
});

describe('examples/app.ts GET /openapi.json', () => {
  it('serves a valid document: bearer on /get_user/, 429 on /api/1/ /api/2/ /api/3/', async () => {
    const example = createApp();
    try {
      const res = await request(example.app).get('/openapi.json').expect(200).expect('Content-Type', /application\/json/);
      const served = res.body as OpenAPIDocument;
      await SwaggerParser.validate(structuredClone(served) as never);
      expect(Object.keys(served.paths).sort()).to.deep.equal(['/api/1/', '/api/2/', '/api/3/', '/get_user/', '/token/']);
      expect(op(served, '/get_user/').security).to.deep.equal([{ bearerAuth: [] }]);
      expect(op(served, '/get_user/').responses).to.have.property('401');
      expect(op(served, '/token/')).to.not.have.property('security');
      for (const path of ['/api/1/', '/api/2/', '/api/3/']) expect(op(served, path).responses['429'].headers).to.have.keys('Retry-After', 'RateLimit', 'RateLimit-Policy');
      expect(op(served, '/token/').responses).to.not.have.property('429');
    } finally {
      await example.close();
    }
  });
});
