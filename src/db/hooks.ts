/** @module Runs after-commit / after-rollback hooks: awaited, in order, each once; a failure is logged, never thrown. */
import type { Logger } from './logger';
import { sanitizeError } from './sanitize';
import type { Hook } from './transaction';

/** Runs `hooks` one after another; a hook that throws is logged and the next one still runs. */
export async function runHooks(hooks: Hook[], logger: Logger, kind: string, error?: unknown): Promise<void> {
  for (const hook of hooks.splice(0)) {
    try {
      await hook(error);
    } catch (err) {
      const e = sanitizeError(err) as Error;
      logger.error(`webtool/db: ${kind} hook failed`, e?.message ?? String(e));
    }
  }
}
