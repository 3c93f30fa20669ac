/**
 * @module The anonymous session offer at the limiter (issue 8 item 2, cookie farming). A cookie-less
 * anonymous caller may be given a session only where a limit admitted the request; the IP-wide mint
 * budget is decided as one more rule of the SAME store call, so one IP mints at most `budget.limit`
 * sessions at once and 2 × `budget.limit` in any window, whatever sequence of routes it requests. GCRA:
 * one small key per minting IP even when the window is a cookie's lifetime (14 days by default).
 */
import type { Identity } from '../auth/identity';
import { compactKey } from '../utils/redis-key';
import type { ConsumeRule, Decision, RateLimitStore } from './store';

/** Suffix of the mint budget's key, beside the caller's (IP) identity: same hash tag, same slot. */
const MINT_SUFFIX = 'mint';
/** Offers already decided on this request (a request may pass several limiters). */
const settled = new WeakSet<NonNullable<Identity['offer']>>();

/** True when the caller has a session offer no limiter of this request has decided yet. */
export function hasPendingOffer(identity: Identity): boolean {
  return identity.offer !== undefined && !settled.has(identity.offer);
}

/**
 * Decides `rules` in one store call, with the caller's session offer (if any) as one more rule, an
 * optional one: it never denies the request, and when it is spent no session is minted. A store that
 * ignores `optional` denies instead; then the route's rules are decided again without it (a second
 * store call, only with such a store). The returned decision has one outcome per rule of `rules`.
 */
export async function consumeWithOffer(identity: Identity, store: RateLimitStore, keyPrefix: string, rules: ConsumeRule[]): Promise<Decision> {
  if (!hasPendingOffer(identity)) return store.consume(rules);
  const offer = identity.offer!;
  const mint: ConsumeRule = { key: compactKey(keyPrefix, identity.key, MINT_SUFFIX), limit: offer.budget.limit, windowMs: offer.budget.windowMs, cost: 1, algorithm: 'gcra', optional: true };
  const decision = await store.consume([...rules, mint]);
  const own = decision.rules.slice(0, rules.length);
  if (decision.status === 'unavailable') return { ...decision, rules: own };
  const mintOutcome = decision.rules[rules.length];
  settled.add(offer);
  if (decision.status === 'allowed') {
    // No outcome for the mint rule (a fail-open decision counted nothing): no session either.
    if (mintOutcome?.allowed) offer.onAdmitted();
    return { ...decision, rules: own };
  }
  // Limited: by the route's rules (then nothing was counted and the answer is a 429), or, by a store
  // that ignores `optional`, only by the mint budget: then it is decided on its own rules, without a session.
  if (mintOutcome && !mintOutcome.allowed && own.every((o) => o.allowed)) return store.consume(rules);
  return { ...decision, rules: own };
}
