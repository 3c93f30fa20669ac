import { expect } from 'chai';
import { ipKey } from '../../src/utils/ip-key';

describe('ipKey', () => {
  it('keeps IPv4 addresses and unwraps IPv4-mapped IPv6', () => {
    expect(ipKey('203.0.113.9')).to.equal('203.0.113.9');
    expect(ipKey('::ffff:203.0.113.9')).to.equal('203.0.113.9');
  });

  it('groups IPv6 addresses by /56', () => {
    const a = ipKey('2001:db8:1:2a0::1');
    expect(a).to.equal('2001:db8:1:200::/56');
    expect(ipKey('2001:db8:1:2ff:ffff:ffff:ffff:ffff')).to.equal(a);
    expect(ipKey('2001:db8:1:300::1')).to.not.equal(a);
  });

  it('honours another subnet or none', () => {
    expect(ipKey('2001:db8:1:2a0::1', { ipv6Subnet: 64 })).to.equal('2001:db8:1:2a0::/64');
    expect(ipKey('2001:db8::1', { ipv6Subnet: false })).to.equal('2001:db8:0:0:0:0:0:1');
  });

  it('never throws on garbage', () => {
    for (const bad of ['', 'garbage', '1.2.3.4.5', ':::', '{evil}', 'x'.repeat(10_000), undefined]) {
      expect(ipKey(bad as string)).to.equal('unknown');
    }
  });
});
