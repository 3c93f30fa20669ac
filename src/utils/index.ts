/** @module webtool/utils: key generation and loading, client-address keys, Redis key building. */
export { makeEdKey, makeEcKey, makeRsaKey, makeSymmetricKey, saveKey, type MakeKeyOptions } from './make-key';
export { loadKey, MIN_SECRET_BYTES, type JWSAlgorithm, type LoadedKey, type LoadKeyOptions } from './load-key';
export { ipKey, type IpKeyOptions } from './ip-key';
export * from '../errors';
