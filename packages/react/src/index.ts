export * from './live-video-cache.js';
export * from './use-live-video.js';
export * from './use-topic.js';
