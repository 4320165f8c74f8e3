export * from './config.js';
export * from './errors.js';
export * from './ids.js';
export * from './limits.js';
export * from './random.js';
export * from './schemas.js';
export * from './sse.js';
export * from './validate.js';
