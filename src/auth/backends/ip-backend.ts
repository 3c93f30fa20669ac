/**
 * @module `IPBackend`: the client address as Express sees it (`req.ip`, which honours
 * `app.set('trust proxy', …)`). X-Forwarded-For is never read here: trusting it is the app's decision.
 */
import type { Request } from 'express';
import { ipKey, parseIpv6Subnet } from '../../utils/ip-key';
import type { AuthData } from '../auth-data';
import type { AuthBackend } from './backend';
import { checkOptions } from '../../utils/options';

/**
 * Counts every caller by address, IPv6 grouped by prefix.
 * @example new IPBackend({ ipv6Subnet: 64 })
 * @throws InvalidOptionError for an `ipv6Subnet` that is not an integer 1–128 or false
 */
export class IPBackend implements AuthBackend {
  readonly kind = 'anno' as const;
  private readonly ipv6Subnet: number | false;

  /** @param options.ipv6Subnet IPv6 prefix length (1–128) or false for the full address. @default 56 */
  constructor(options: { ipv6Subnet?: number | false } = {}) {
    checkOptions(options, ['ipv6Subnet'], 'IPBackend');
    this.ipv6Subnet = parseIpv6Subnet(options?.ipv6Subnet);
  }

  authenticate(req: Request): AuthData {
    return { identifier: `ip:${ipKey(req.ip, { ipv6Subnet: this.ipv6Subnet })}`, scope: null, extra: {} };
  }
}
