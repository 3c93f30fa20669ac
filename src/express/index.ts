/** @module webtool/express: the problem+json error handler for Express apps. */
export { errorHandler, type ErrorHandlerOptions, type ErrorLogger } from './error-handler';
export * from '../errors';
