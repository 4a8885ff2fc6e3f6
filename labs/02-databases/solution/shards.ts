/**
 * A 32-bit hash that scatters neighbouring ids (the finaliser of MurmurHash3): ids are handed out in
 * order, so anything that keeps their order (ranges) puts every new user on the same shard.
 */
function hash(id: number): number {
  let h = Math.imul(id, 0x9e3779b1) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Which shard holds user `id`. Every app server must give the same answer for the same id, so it
 * depends on nothing but the id and the list of shards.
 */
export function shardFor(id: number, shards: string[]): string {
  return shards[hash(id) % shards.length]!;
}
