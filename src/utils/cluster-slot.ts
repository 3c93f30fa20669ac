/**
 * @module `clusterSlot`: the Redis Cluster hash slot of a key (CRC16/XMODEM of the key, or of its
 * `{hash tag}`, modulo 16384), as in the Redis Cluster specification. Lets a store see that the node
 * owning a key is known down before sending anything to it.
 */

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

/**
 * The hash slot (0–16383) Redis Cluster assigns to `key`.
 * @example clusterSlot('{user1000}.following') // 3443
 */
export function clusterSlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b); // '{'
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc & 16383;
}
