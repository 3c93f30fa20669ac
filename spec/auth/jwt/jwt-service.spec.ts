import { InMemoryCache } from '../../../src/cache/in-memory-cache';
import { JWTService } from '../../../src/auth/jwt-service';
import { jwtServiceContract } from './jwt-service.contract';

jwtServiceContract('JWTService on InMemoryCache', async (options) => {
  const cache = new InMemoryCache();
  const service = new JWTService(cache, options);
  const close = service.close.bind(service);
  service.close = async () => {
    await close();
    await cache.close();
  };
  return service;
});
