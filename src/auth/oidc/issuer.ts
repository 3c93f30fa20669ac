/**
 * @module The one way webtool calls an external issuer: every request (discovery, JWKS, introspection)
 * is bounded by `timeoutMs`, and after a failure the issuer is left alone for `failureBackoffMs`
 * (requests then fail fast instead of queueing on a dead host).
 */
import { IssuerUnavailableError } from '../../errors';
import type { OIDCConfig } from './options';

/** What webtool reads from the discovery document (OpenID Connect Discovery 1.0 §3). */
export interface IssuerMetadata {
  jwksUri: URL;
  introspectionEndpoint?: URL;
}

function optionalUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Calls one issuer within bounds; shared by the JWKS set and the introspection client. */
export class IssuerClient {
  private failedAtMs = -Infinity;
  private metadataPromise?: Promise<IssuerMetadata>;

  constructor(private readonly config: OIDCConfig) {}

  /**
   * `fetch` with the timeout and the backoff. A network error, a timeout or a 5xx is an issuer failure;
   * other statuses are returned for the caller to judge.
   * @throws IssuerUnavailableError
   */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const sinceFailureMs = Date.now() - this.failedAtMs;
    if (sinceFailureMs < this.config.failureBackoffMs) {
      throw new IssuerUnavailableError(`issuer ${this.config.issuer} failed ${sinceFailureMs} ms ago; not called again yet`);
    }
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal, redirect: 'error' });
    } catch (err) {
      throw this.failed(`no answer from ${new URL(url).pathname} within ${this.config.timeoutMs} ms (${(err as Error)?.name})`, err);
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      throw this.failed(`${new URL(url).pathname} answered ${response.status}`);
    }
    return response;
  }

  /** Records a failure (starting the backoff) and logs it once per backoff period. */
  failed(reason: string, cause?: unknown): IssuerUnavailableError {
    this.failedAtMs = Date.now();
    const error = new IssuerUnavailableError(`issuer ${this.config.issuer}: ${reason}`, { cause });
    this.config.logger.warn(`[webtool] ${error.code}: ${error.message}`);
    return error;
  }

  /** The discovery document, fetched once (again after a failure). @throws IssuerUnavailableError */
  metadata(): Promise<IssuerMetadata> {
    this.metadataPromise ??= this.discover().catch((err) => {
      this.metadataPromise = undefined;
      throw err;
    });
    return this.metadataPromise;
  }

  private async discover(): Promise<IssuerMetadata> {
    const { issuer, jwksUri, introspection } = this.config;
    if (jwksUri && (!introspection || introspection.endpoint)) return { jwksUri, introspectionEndpoint: introspection?.endpoint };
    // OIDC Discovery §4.1: a terminating "/" of the issuer is removed before appending.
    const response = await this.fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
    const document = response.ok ? ((await response.json().catch(() => null)) as Record<string, unknown> | null) : null;
    if (!document || typeof document !== 'object') throw this.failed(`discovery answered ${response.status} without a JSON document`);
    // OIDC Discovery §4.3: the document's issuer must be exactly the configured one.
    if (document.issuer !== issuer) throw this.failed(`discovery names issuer ${JSON.stringify(document.issuer)}, not the configured one`);
    const discoveredJwks = optionalUrl(document.jwks_uri);
    if (!jwksUri && !discoveredJwks) throw this.failed('discovery has no usable jwks_uri');
    return {
      jwksUri: (jwksUri ?? discoveredJwks)!,
      introspectionEndpoint: introspection?.endpoint ?? optionalUrl(document.introspection_endpoint),
    };
  }
}
