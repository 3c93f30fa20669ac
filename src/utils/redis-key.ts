/**
 * @module The one place Redis keys are built. Every key is `<prefix><area>:{<tag>}:<parts>`, where the
 * `{tag}` (the identity) is a Redis Cluster hash tag, so one script's keys always share a slot.
 */

/** Escapes braces so a hostile identity cannot end the hash tag early (and `%` so the escape is reversible). */
export function escapeTag(tag: string): string {
  return tag.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}

/**
 * Builds a key. @example redisKey('wt:', 'rt', '123', 'abc') // 'wt:rt:{123}:abc'
 */
export function redisKey(prefix: string, area: string, tag: string, ...parts: string[]): string {
  const tail = parts.length ? `:${parts.join(':')}` : '';
  return `${prefix}${area}:{${escapeTag(tag)}}${tail}`;
}

/**
 * The compact form for keys that exist once per identity and rule, where every byte counts (a rate
 * limit's GCRA counter must stay under ~140 bytes of Redis memory): `<prefix>{<tag>}<suffix>`.
 * @example compactKey('wt:', 'u:123', 'Ab3dE9x_') // 'wt:{u:123}Ab3dE9x_'
 */
export function compactKey(prefix: string, tag: string, suffix: string): string {
  return `${prefix}{${escapeTag(tag)}}${suffix}`;
}
