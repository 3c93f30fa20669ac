/**
 * @module `checkOptions()`: rejects option names a constructor or factory does not know, at startup,
 * naming the nearest known one ("did you mean `legacyHeaders`?"). Misspelled options used to be
 * ignored silently (issue 11), so `{ legacyHeader: false }` left the legacy headers on.
 */
import { InvalidOptionError } from '../errors';

/** Names longer than this are compared by prefix only: the distance table stays small. */
const MAX_COMPARED_LENGTH = 64;

/** Levenshtein distance with adjacent transpositions (optimal string alignment), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase().slice(0, MAX_COMPARED_LENGTH);
  const t = b.toLowerCase().slice(0, MAX_COMPARED_LENGTH);
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...new Array<number>(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j++) d[0][j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[s.length][t.length];
}

/**
 * The known name closest to `name`, or undefined when none is close: within a third of the
 * length (at least 2 edits), or containing / contained in it (`algo` → `algorithm`, `prefix` → `keyPrefix`).
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    const c = candidate.toLowerCase();
    const related = lower.length >= 3 && (c.includes(lower) || lower.includes(c));
    if (distance > Math.max(2, Math.floor(candidate.length / 3)) && !related) continue;
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best?.name;
}

/** The option names of an options type. */
type OptionName<T> = Extract<keyof NonNullable<T>, string>;
/** Compile-time guard: a `known` list that forgets an option of `T` names it in the type error. */
type ListsEvery<T, K extends readonly string[]> = [Exclude<OptionName<T>, K[number]>] extends [never]
  ? unknown
  : { missingOptionNames: Exclude<OptionName<T>, K[number]> };

/**
 * Throws unless every own key of `options` is in `known`. Call it first thing in an options parser.
 * `undefined` options pass (the defaults apply); a non-object is rejected.
 * @param where what is being configured, for the message, e.g. `'limitMiddleware'`
 * @throws InvalidOptionError naming the unknown option and, when one is close, the known one meant
 * @example checkOptions(options, ['cache', 'legacyHeaders'], 'limitMiddleware');
 */
export function checkOptions<T, const K extends readonly OptionName<T>[]>(options: T, known: K & ListsEvery<T, K>, where: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError(where, `options must be an object, got ${Array.isArray(options) ? 'an array' : options === null ? 'null' : typeof options}`);
  }
  const names: readonly string[] = known;
  for (const key of Object.keys(options)) {
    if (names.includes(key)) continue;
    const near = nearestName(key, names);
    const hint = near ? `; did you mean \`${near}\`?` : `; known options: ${names.join(', ')}`;
    throw new InvalidOptionError(key, `unknown option of ${where}${hint}`);
  }
}
