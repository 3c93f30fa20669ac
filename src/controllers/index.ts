/** @module webtool/controllers: routing-controllers decorators and checkers. */
import '../express-request';
export { Limiter, getLimiterRules } from './limiter';
export { CurrentAuth } from './current-auth';
export { authorizationChecker, currentUserChecker } from './checkers';
export { webtoolErrorHandler, type ErrorMiddlewareClass } from './error-handler';
export { webtoolOpenAPI, type OpenAPIDocument, type OpenAPIOptions } from './openapi';
export * from '../errors';
