/** @module webtool: authentication, authorization, throttling and cache management for Express. */
import './express-request';
export * from './errors';
export * from './cache/index';
export * from './utils/index';
export * from './auth/index';
export * from './throttle/index';
export * from './controllers/index';
export * from './db/index';
export * from './express/index';
