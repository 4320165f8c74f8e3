/*
 * On Redis Cluster a MULTI or a pipeline must hold keys of one slot, so the registry's drivers send
 * commands over many keys together as single commands (ioredis writes them back to back, per
 * node): one round trip, not one atomic step. Each driver orders its steps so that a failure
 * between them leaves nothing a later step relies on (see each driver).
 */

/** A key's hash tag: keys `…{<tag>}…` share a slot on a cluster (harmless on one server). */
export function tag(value: string): string {
  return `{${value}}`;
}
