import { expect } from 'chai';
import { clusterSlot } from '../../src/utils/cluster-slot';

describe('clusterSlot', () => {
  it('gives the slots the Redis Cluster specification and CLUSTER KEYSLOT give', () => {
    expect(clusterSlot('123456789')).to.equal(0x31c3 & 16383); // the spec's CRC16 check value
    expect(clusterSlot('somekey')).to.equal(11058);
    expect(clusterSlot('foo{hash_tag}')).to.equal(clusterSlot('hash_tag'));
    expect(clusterSlot('{user1000}.following')).to.equal(clusterSlot('{user1000}.followers'));
    expect(clusterSlot('{user1000}.following')).to.equal(3443);
    // An empty tag does not count: the whole key is hashed.
    expect(clusterSlot('foo{}{bar}')).to.not.equal(clusterSlot('bar'));
  });
});
