/**
 * @module Server-issued session ids, signed with their expiry so a client can neither choose, forge nor
 * keep one past its lifetime: the cookie's Max-Age is only advice to the browser, while the signed
 * expiry is what the server enforces (otherwise cookies farmed once would stay valid budgets forever).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const ID = /^[A-Za-z0-9_-]{16,64}$/;
const SIGNED = /^([A-Za-z0-9_-]{16,64})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})$/;

/** A fresh id: 128 random bits, URL-safe. */
export function randomId(): string {
  return randomBytes(16).toString('base64url');
}

/** True for ids that can be signed and carried in a cookie as they are. */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id);
}

function mac(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

/** `<id>.<expiry, epoch seconds in base 36>.<HMAC-SHA256 of both, base64url>` */
export function sign(secret: Buffer, id: string, expiresAtS: number): string {
  const payload = `${id}.${Math.floor(expiresAtS).toString(36)}`;
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The id of a correctly signed, unexpired value, or null (constant-time comparison). */
export function unsign(secret: Buffer, value: unknown, nowS = Date.now() / 1000): string | null {
  if (typeof value !== 'string' || value.length > 128) return null;
  const match = SIGNED.exec(value);
  if (!match) return null;
  const given = Buffer.from(match[3], 'base64url');
  const expected = mac(secret, `${match[1]}.${match[2]}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return parseInt(match[2], 36) > nowS ? match[1] : null;
}
