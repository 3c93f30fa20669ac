/** @module `health()` figures: `SELECT 1` latency and pool statistics per driver. */
import type { Driver, PoolStats } from './driver';

/** Connection and latency figures of one driver. */
export interface DriverHealth extends PoolStats {
  ok: boolean;
  latencyMs: number;
}

/** What `Database.health()` reports. */
export interface Health {
  ok: boolean;
  primary: DriverHealth;
  replicas: DriverHealth[];
  /** Outermost transactions running now. */
  activeTransactions: number;
}

/** Runs `SELECT 1` on a connection of `driver` (waiting at most `acquireTimeoutMs`). Never throws. */
export async function checkDriver(driver: Driver, acquireTimeoutMs: number): Promise<DriverHealth> {
  const started = performance.now();
  let ok = false;
  try {
    const lease = await driver.acquire(acquireTimeoutMs);
    try {
      await lease.query('SELECT 1');
      ok = true;
    } finally {
      lease.release(!ok);
    }
  } catch {
    ok = false;
  }
  return { ok, latencyMs: Math.round((performance.now() - started) * 100) / 100, ...driver.stats() };
}
