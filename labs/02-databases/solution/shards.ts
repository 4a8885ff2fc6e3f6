/**
 * A 32-bit hash that scatters neighbouring ids (the finaliser of MurmurHash3): ids are handed out in
 * order, so anything that keeps their order (ranges) puts every new user on the same shard.
 */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A hash of a shard's name, so that its scores depend on the shard itself, not its place in the list. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return mix(h);
}

/**
 * Which shard holds user `id`. Every app server must give the same answer for the same id, so it
 * depends on nothing but the id and the list of shards.
 *
 * Rendezvous (highest random weight) hashing: each shard scores the id, and the highest score wins.
 * A new shard wins about 1/n of the ids, from every old shard alike, and no other id moves; with
 * hash % n, changing n moves almost every id.
 */
export function shardFor(id: number, shards: string[]): string {
  let best = shards[0]!;
  let bestScore = -1;
  for (const shard of shards) {
    const score = mix((Math.imul(id, 0x9e3779b1) ^ nameHash(shard)) >>> 0);
    if (score > bestScore) {
      best = shard;
      bestScore = score;
    }
  }
  return best;
}
