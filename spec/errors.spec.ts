import { expect } from 'chai';
import { CacheUnavailableError, ForbiddenError, InvalidOptionError, UnauthorizedError, WebtoolError } from '../src/errors';

describe('WebtoolError', () => {
  it('serialises to problem fields only: never the cause, a stack or extra properties', () => {
    const secret = 'eyJhbGciOiJFZERTQSJ9.secret-token';
    const err = new CacheUnavailableError(`Redis at redis://:${secret}@host failed`, { cause: new Error(secret) });
    Object.assign(err, { token: secret });
    const json = JSON.stringify(err);
    expect(json).to.not.contain(secret);
    expect(JSON.parse(json)).to.deep.equal({ type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'ERR_WT_CACHE_UNAVAILABLE' });
    expect(err.cause).to.be.instanceOf(Error);
  });

  it('gives 401 and 403 a public detail and routing-controllers an httpCode', () => {
    expect(new UnauthorizedError('Authentication required').toJSON()).to.deep.equal({ type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'Authentication required', code: 'ERR_WT_UNAUTHORIZED' });
    const forbidden = new ForbiddenError('Missing scope: admin');
    expect(forbidden.httpCode).to.equal(403);
    expect(forbidden.toJSON().detail).to.equal('Missing scope: admin');
  });

  it('names the option in InvalidOptionError and keeps a stable code and class name', () => {
    const err = new InvalidOptionError('secretKey', 'is required');
    expect(err).to.be.instanceOf(WebtoolError);
    expect(err.message).to.equal('secretKey: is required');
    expect(err.option).to.equal('secretKey');
    expect(err.name).to.equal('InvalidOptionError');
    expect(err.code).to.equal('ERR_WT_INVALID_OPTION');
  });
});
