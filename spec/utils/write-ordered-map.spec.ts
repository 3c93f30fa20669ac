import { expect } from 'chai';
import { WriteOrderedMap } from '../../src/utils/write-ordered-map';

describe('WriteOrderedMap', () => {
  it('evicts the least recently written key beyond its capacity', () => {
    const map = new WriteOrderedMap<string, number>(3);
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3);
    map.set('a', 4); // a is now the most recent
    map.set('d', 5);
    expect([...map].map(([k]) => k)).to.deep.equal(['c', 'a', 'd']);
    expect(map.get('b')).to.equal(undefined);
  });

  it('keeps evicting in write order through deletes and rewrites ', () => {
    const map = new WriteOrderedMap<number, number>(100);
    for (let i = 0; i < 10_000; i++) {
      map.set(i, i);
      if (i % 7 === 0) map.delete(i - 3);
      if (i % 5 === 0) map.set(i - 50, i); // rewrite an older key: it becomes the newest
      expect(map.size).to.be.at.most(100);
    }
    const keys = [...map].map(([k]) => k);
    expect(keys).to.include(9999);
    expect(new Set(keys).size).to.equal(keys.length);
  });

  it('lets a sweep delete entries while iterating, oldest first', () => {
    const map = new WriteOrderedMap<number, number>(10);
    for (let i = 0; i < 10; i++) map.set(i, i);
    map.set(3, 30);
    const seen: number[] = [];
    for (const [k] of map) {
      seen.push(k);
      if (k % 2 === 0) map.delete(k); // the current entry
      if (k === 5) map.delete(6); // one ahead
    }
    expect(seen).to.deep.equal([0, 1, 2, 4, 5, 7, 8, 9, 3]);
    expect([...map].map(([k]) => k)).to.deep.equal([1, 5, 7, 9, 3]);
    map.set(11, 11); // below the capacity again: nothing evicted
    expect(map.size).to.equal(6);
  });

  it('evicts in O(1): 1,000,000 writes over a cap of 100,000 in under 30 s on busy shared cores (O(cap) per eviction would take hours)', () => {
    const map = new WriteOrderedMap<number, number>(100_000);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1_000_000; i++) map.set(i, i);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(map.size).to.equal(100_000);
    expect(map.get(899_999)).to.equal(undefined);
    expect(map.get(900_000)).to.equal(900_000);
    expect(ms).to.be.below(30_000);
  });
});
