/**
 * @module Collects unhandled rejections and uncaught exceptions while the calling `describe` runs
 * (cleared before each test), so a spec can assert that none happened.
 */

/** Registers the hooks in the current `describe`; `into` holds what was seen during the current test. */
export function collectUnhandled(into: unknown[]): void {
  const seen = (e: unknown) => into.push(e);
  before(() => {
    process.on('unhandledRejection', seen);
    process.on('uncaughtException', seen);
  });
  after(() => {
    process.off('unhandledRejection', seen);
    process.off('uncaughtException', seen);
  });
  beforeEach(() => {
    into.length = 0;
  });
}
