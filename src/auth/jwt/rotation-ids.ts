/**
 * @module The jtis of a rotation, derived from the presented refresh token's jti with a key of the
 * service's own (issue 13 item 11): a retried rotation computes the same jtis, so the store can tell
 * the retry of a rotation it already applied from a replay, and the pair can be signed again.
 */
import { createHash, createHmac, type KeyObject } from 'node:crypto';

const derivationKeys = new WeakMap<KeyObject, Buffer>();

/** A key for jti derivation, from the signing key (identical in every process sharing that key). */
function derivationKey(signingKey: KeyObject): Buffer {
  let key = derivationKeys.get(signingKey);
  if (!key) {
    const material = signingKey.type === 'secret' ? signingKey.export() : signingKey.export({ format: 'der', type: 'pkcs8' });
    key = createHash('sha256').update('webtool rotation ids\0').update(material).digest();
    derivationKeys.set(signingKey, key);
  }
  return key;
}

/** The new access and refresh jtis for rotating the refresh token `presentedJti` (128 bits each, URL-safe). */
export function rotationIds(signingKey: KeyObject, presentedJti: string): { ajti: string; rjti: string } {
  const key = derivationKey(signingKey);
  const derive = (use: string) => createHmac('sha256', key).update(`${use}\0${presentedJti}`).digest().subarray(0, 16).toString('base64url');
  return { ajti: derive('access'), rjti: derive('refresh') };
}
