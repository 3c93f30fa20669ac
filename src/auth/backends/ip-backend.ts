/**
 * @module `IPBackend`: the client address as Express sees it (`req.ip`, which honours
 * `app.set('trust proxy', …)`). X-Forwarded-For is never read here: trusting it is the app's decision.
 */
import type { Request } from 'express';
import { ipKey } from '../../utils/ip-key';
import type { AuthData } from '../auth-data';
import type { AuthBackend } from './backend';
import { checkOptions } from '../../utils/options';

export class IPBackend implements AuthBackend {
  readonly kind = 'anno' as const;
  private readonly ipv6Subnet: number | false;

  constructor(options: { ipv6Subnet?: number | false } = {}) {
    checkOptions(options, ['ipv6Subnet'], 'IPBackend');
    const { ipv6Subnet = 56 } = options;
    this.ipv6Subnet = ipv6Subnet;
  }

  authenticate(req: Request): AuthData {
    return { identifier: `ip:${ipKey(req.ip, { ipv6Subnet: this.ipv6Subnet })}`, scope: null, extra: {} };
  }
}
