/** @module The revocation wire formats (published messages, stored zset members) the feed relies on. */
import { expect } from 'chai';
import { parseRevocation, parseRevocations } from '../../../src/auth/jwt/revocation-registry';

describe('parseRevocations', () => {
  it('reads one message holding several entries, skipping malformed ones', () => {
    expect(parseRevocations('f:fam1:1700000000000 g:fam2:3:1700000000001 j:jti9:1700000000002 junk f:x')).to.deep.equal([
      { kind: 'f', id: 'fam1', untilMs: 1700000000000 },
      { kind: 'g', id: 'fam2', gen: 3, untilMs: 1700000000001 },
      { kind: 'j', id: 'jti9', untilMs: 1700000000002 },
    ]);
  });
});

describe('parseRevocation', () => {
  it('reads stored zset members with their score as the end', () => {
    expect(parseRevocation('f:fam1', 5)).to.deep.equal({ kind: 'f', id: 'fam1', untilMs: 5 });
    expect(parseRevocation('g:fam2:7', 6)).to.deep.equal({ kind: 'g', id: 'fam2', gen: 7, untilMs: 6 });
    expect(parseRevocation('g:fam2', 6)).to.equal(null);
    expect(parseRevocation('g:fam2:7:8', 6)).to.equal(null);
    expect(parseRevocation('x:fam', 6)).to.equal(null);
  });
});
