/** @module Root hooks: stop what the specs started, so mocha exits without --exit. */
import { stopPrivateServers } from './redis';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopPrivateServers();
  },
};
