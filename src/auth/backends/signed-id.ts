/** @module Server-issued session ids, signed so a client can neither choose nor forge one. */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const ID = /^[A-Za-z0-9_-]{16,64}$/;
const SIGNED = /^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})$/;

/** A fresh id: 128 random bits, URL-safe. */
export function randomId(): string {
  return randomBytes(16).toString('base64url');
}

/** True for ids that can be signed and carried in a cookie as they are. */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id);
}

function mac(secret: Buffer, id: string): Buffer {
  return createHmac('sha256', secret).update(id).digest();
}

/** `<id>.<HMAC-SHA256(id) base64url>` */
export function sign(secret: Buffer, id: string): string {
  return `${id}.${mac(secret, id).toString('base64url')}`;
}

/** The id of a correctly signed value, or null (constant-time comparison). */
export function unsign(secret: Buffer, value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 128) return null;
  const match = SIGNED.exec(value);
  if (!match) return null;
  const given = Buffer.from(match[2], 'base64url');
  const expected = mac(secret, match[1]);
  return given.length === expected.length && timingSafeEqual(given, expected) ? match[1] : null;
}
