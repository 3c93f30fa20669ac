/** @module Root hooks: stop what the specs started, so mocha exits without --exit. */
import { closeSharedPGlite } from '../db/support';
import { stopPrivateServers } from './redis';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopPrivateServers();
    await closeSharedPGlite();
  },
};
