/** Versions of everything a bench figure depends on. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function pkg(name: string): string {
  // Read the file, not require(): some packages don't export their package.json.
  const file = name === '..' ? join(__dirname, '..', 'package.json') : join(__dirname, '..', 'node_modules', name, 'package.json');
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

export function versions(redisUrl: string): Record<string, string> {
  let redis = '?';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? '?';
  } catch {
    /* not installed */
  }
  return {
    node: process.version,
    redis,
    express: pkg('express'),
    jose: pkg('jose'),
    ioredis: pkg('ioredis'),
    'express-rate-limit': pkg('express-rate-limit'),
    'rate-limit-redis': pkg('rate-limit-redis'),
    'rate-limiter-flexible': pkg('rate-limiter-flexible'),
    autocannon: pkg('autocannon'),
    webtool: pkg('..'),
    redisUrl: redisUrl.replace(/\/\/.*@/, '//'),
  };
}
