// The presence drivers and duty, for the bench (`@ovation/dispatcher/presence`).
export { MemoryPresence } from './memory-presence.js';
export { PresenceDuty, presenceEvent } from './presence-duty.js';
export type { PresenceChange, PresenceSettings, PresenceStore } from './presence-store.js';
export { RedisPresence } from './redis-presence.js';
