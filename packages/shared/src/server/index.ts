export * from './client-address.js';
export * from './connection-watchdog.js';
export * from './fastify-options.js';
export * from './http-errors.js';
export * from './lifecycle.js';
export * from './ports.js';
export * from './retry.js';
export * from './tracing.js';
