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

  it('keeps evicting in write order through deletes and rewrites (one kept iterator)', () => {
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
});
