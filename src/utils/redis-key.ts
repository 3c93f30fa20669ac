/**
 * @module The one place Redis keys are built. Every key is `<prefix><area>:{<tag>}:<parts>`, where the
 * `{tag}` (the identity) is a Redis Cluster hash tag, so one script's keys always share a slot.
 */

const ESCAPED = /[%{}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Any character ESCAPED might match: `%`, braces, any surrogate (paired ones included). Not global: no lastIndex. */
const NEEDS_ESCAPE = /[%{}\uD800-\uDFFF]/;

/**
 * Escapes braces so a hostile identity cannot end the hash tag early, and lone surrogates (`%uD800`),
 * which UTF-8 would turn into U+FFFD so that `bob\uD800` and `bob\uFFFD` shared a key (issue 8 item 6);
 * `%` too, so the escape is reversible and keys stay injective.
 */
export function escapeTag(tag: string): string {
  // Per request on the limiter's path: a tag with no `%`, brace or surrogate at all (the usual one)
  // has nothing ESCAPED could match, and skips the costlier global replace.
  if (!NEEDS_ESCAPE.test(tag)) return tag;
  return tag.replace(ESCAPED, (c) =>
    c === '%' ? '%25' : c === '{' ? '%7B' : c === '}' ? '%7D' : `%u${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
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
