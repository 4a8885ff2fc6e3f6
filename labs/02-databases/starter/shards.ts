/**
 * Which shard holds user `id`. Every app server must give the same answer for the same id, so it
 * depends on nothing but the id and the list of shards.
 */
export function shardFor(id: number, shards: string[]): string {
  // Ranges of 10,000 ids: users 1 to 10,000 on the first shard, 10,001 to 20,000 on the second, …
  return shards[Math.min(shards.length - 1, Math.floor((id - 1) / 10_000))]!;
}
