import { expect, test } from 'vitest';
import { evidence, type Cluster } from '@scale-lab/kit';
import { shardFor } from '../starter/shards.ts';
import { APP_SERVERS, DATABASES, createDatabasesCluster, requestsAndQueries, send, withSeed } from './helpers.ts';

const SHARDS = DATABASES.shards;
/** The promise of this step: every shard within 10 % of the mean, in users held and in recent sign-ups. */
const TOLERANCE = 0.1;
const USERS = 40_000;
const RECENT = 4_000;
/** Users signed up through the balancer, on one cluster that the checks below share (none of them changes it). */
const SIGNED_UP = 60;

interface User {
  id: number;
  name: string;
  score: number;
}

/** How many of the ids from..to shardFor puts on each shard. */
function spread(from: number, to: number): Map<string, number> {
  const counts = new Map(SHARDS.map((s) => [s, 0]));
  for (let id = from; id <= to; id++) {
    const shard = shardFor(id, [...SHARDS]);
    counts.set(shard, (counts.get(shard) ?? 0) + 1);
  }
  return counts;
}

function unbalanced(counts: Map<string, number>, total: number): string | undefined {
  const mean = total / SHARDS.length;
  const off = [...counts].filter(([, n]) => Math.abs(n - mean) > mean * TOLERANCE);
  if (off.length === 0) return undefined;
  return [...counts].map(([s, n]) => `${s} ${n}`).join(', ');
}

/**
 * Signs up `n` users through the balancer (ids 1 to n, in order). The users of one shard, not the
 * first, get the highest scores, so most of the top users sit on it and a list put together shard
 * by shard comes out in the wrong order.
 */
async function signUp(cluster: Cluster, n: number): Promise<User[]> {
  const client = cluster.client('admin');
  const users = [];
  const crowded = Array.from({ length: 20 }, (_, i) => shardFor(i + 1, [...SHARDS])).find((s) => s !== SHARDS[0]) ?? SHARDS[1];
  for (let i = 1; i <= n; i++) {
    const user = { name: `user-${i}`, score: shardFor(i, [...SHARDS]) === crowded ? 1000 + i : (i * 7919) % 1000 };
    const res = await send(client, 'POST', '/users', user);
    expect(res.status, `POST /users answered ${res.status}: ${JSON.stringify(res.body)}`).toBe(200);
    users.push({ id: Number(res.body.id), ...user });
  }
  return users;
}

let shared: Promise<Cluster> | undefined;
let sharedUsers: Promise<User[]> | undefined;

/** The shared cluster and its users, signed up the first time a test asks. */
async function signedUp(): Promise<{ cluster: Cluster; users: User[] }> {
  const cluster = withSeed(await (shared ??= createDatabasesCluster()));
  return { cluster, users: await (sharedUsers ??= signUp(cluster, SIGNED_UP)) };
}

test(`users are spread evenly over the ${SHARDS.length} shards, and so are the newest sign-ups`, async () => {
  const all = spread(1, USERS);
  const recent = spread(USERS - RECENT + 1, USERS);
  const empty = SHARDS.filter((s) => all.get(s) === 0);
  expect(empty, `shardFor put none of ${USERS.toLocaleString('en')} users on ${empty.join(', ')}`).toEqual([]);
  const allOff = unbalanced(all, USERS);
  expect(allOff, `users 1 to ${USERS.toLocaleString('en')} land ${allOff}: each shard should hold within ${TOLERANCE * 100} % of ${USERS / SHARDS.length}. A good hash of the id gives each shard an equal share; a ring with each shard at one point of it does not, because the arcs between the points differ widely (place each shard at many points, a thousand, or use rendezvous hashing)`).toBeUndefined();
  const recentOff = unbalanced(recent, RECENT);
  expect(recentOff, `the newest ${RECENT.toLocaleString('en')} sign-ups land ${recentOff}: ids are handed out in order, so ranges of ids send every new user (and the busiest rows) to one shard; hash the id instead`).toBeUndefined();

  const { cluster, users } = await signedUp();
  const misplaced = users.filter((u) => SHARDS.filter((s) => cluster.database(s).query('SELECT id FROM users WHERE id = ?', [u.id]).length > 0).join() !== shardFor(u.id, [...SHARDS]));
  evidence('the sign-ups (POST /users), and the statements they sent the shards', requestsAndQueries('admin', SHARDS, 0));
  expect(misplaced.length, `${misplaced.length} of ${users.length} users signed up through POST /users were not stored on the one shard shardFor names`).toBe(0);
});

test('a lookup by id asks only the shard that holds the user', async () => {
  const { cluster, users } = await signedUp();
  const client = cluster.client('visitor');
  const asked = new Set<string>();
  const stop = cluster.metrics.on((event) => {
    if (event.type === 'query' && APP_SERVERS.includes(event.from) && SHARDS.includes(event.node)) asked.add(event.node);
  });
  try {
    for (const user of users.filter((_, i) => i % 6 === 0)) {
      asked.clear();
      const sentAt = cluster.clock.now();
      const res = await send(client, 'GET', `/users/${user.id}`);
      evidence(`GET /users/${user.id}, and the queries it sent the shards`, requestsAndQueries('visitor', SHARDS, sentAt));
      expect(res.status, `GET /users/${user.id} answered ${res.status}: user ${user.id} was signed up, but the lookup did not find them on ${shardFor(user.id, [...SHARDS])}`).toBe(200);
      expect(res.body.name, `GET /users/${user.id} showed ${JSON.stringify(res.body.name)}, but user ${user.id} signed up as "${user.name}": two sign-ups got the same id, and the second overwrote the first. Ids must come from one counter that every clone shares (ctx.kv.incr), not from each app server's own`).toBe(user.name);
      expect(asked.size, `GET /users/${user.id} asked ${asked.size} shards (${[...asked].join(', ')}): a lookup by id asks only the shard shardFor names, or every shard does the work of every lookup`).toBe(1);
    }
  } finally {
    stop();
  }
});

test('the top users across shards are merged in order, as many as n asks', async () => {
  const { cluster, users } = await signedUp();
  for (const n of [10, 15]) {
    const expected = [...users].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, n);
    const sentAt = cluster.clock.now();
    const res = await send(cluster.client('visitor'), 'GET', `/users/top?n=${n}`);
    evidence(`GET /users/top?n=${n}, and the queries it sent the shards`, requestsAndQueries('visitor', SHARDS, sentAt));
    expect(res.status, `GET /users/top?n=${n} answered ${res.status}`).toBe(200);
    const got = res.body as unknown as { id: number; score: number }[];
    expect(got.length, `GET /users/top?n=${n} listed ${got.length} users: the list is as long as n asks, and each shard is asked for its top n, not a fixed 10`).toBe(n);
    const scores = got.map((u) => u.score).join(', ');
    expect(scores, `GET /users/top?n=${n} gave scores ${scores}, but the top ${n} of all users are ${expected.map((u) => u.score).join(', ')}: ask each shard for its top ${n}, then sort all of them together again and keep the first ${n}`).toBe(expected.map((u) => u.score).join(', '));
  }
});
