import { expect, test } from 'vitest';
import { evidence, type Client, type Cluster } from '@scale-lab/kit';
import { shardFor } from '../starter/shards.ts';
import { APP_SERVERS, DATABASES, calls, databasesCluster, isSelect, queries, requestsAndQueries, send } from './helpers.ts';

const FOUR = [...DATABASES.shards];
const NEW_SHARD = DATABASES.spareShards[0]!;
const FIVE = [...FOUR, NEW_SHARD];
const IDS = 40_000;
/** The promises of this step: at most this share of users changes shard (theory: 1/5), and each of five shards holds within 10 % of a fifth. */
const MAX_MOVED = 0.25;
const TOLERANCE = 0.1;
/** Users signed up before the move; readers and a writer keep the service busy while it runs. */
const USERS_BEFORE = 200;
/** Each reader looks a user up every READ_EVERY_MS; the writer signs one up every SIGN_UP_EVERY_MS. */
const READERS = 3;
const READ_EVERY_MS = 10;
const SIGN_UP_EVERY_MS = 5;
/** The shards are on machines of their own: each statement crosses a link of this many ms each way. */
const SHARD_LINK_MS = 3;
/**
 * The moment the copy first reads an old shard, this many users sign up at once, each looked up as
 * soon as it is answered: however fast the copy, some of them land behind it on shards it has read.
 */
const SIGN_UPS_AT_COPY = 5;
/** One reader asks for the top users every so many of its reads: a user being moved must not show twice. */
const TOP_EVERY = 6;
const TOP_N = 20;

const percent = (part: number, whole: number) => `${Math.round((1000 * part) / whole) / 10} %`;

test(`adding ${NEW_SHARD} moves at most a quarter of the users, all of them onto it, and the five shards stay balanced`, () => {
  const counts = new Map(FIVE.map((s) => [s, 0]));
  const between = new Map<string, number>();
  let moved = 0;
  for (let id = 1; id <= IDS; id++) {
    const before = shardFor(id, [...FOUR]);
    const after = shardFor(id, [...FIVE]);
    counts.set(after, (counts.get(after) ?? 0) + 1);
    if (before === after) continue;
    moved++;
    if (after !== NEW_SHARD) between.set(`${before} to ${after}`, (between.get(`${before} to ${after}`) ?? 0) + 1);
  }
  expect(moved, `adding ${NEW_SHARD} to four shards moves ${percent(moved, IDS)} of users 1 to ${IDS.toLocaleString('en')} to another shard, where the new shard needs only a fifth of them (20 %; at most ${MAX_MOVED * 100} % allowed): with hash % n, almost every key changes shard when n changes. With consistent hashing (each shard at many points of a ring) or rendezvous hashing (each shard scores the id, the highest wins), only the users the new shard takes move`).toBeLessThanOrEqual(IDS * MAX_MOVED);
  const sideways = [...between].map(([route, n]) => `${n} from ${route}`).join(', ');
  expect(sideways, `adding ${NEW_SHARD} also moves users between the old shards (${sideways}): that copying buys nothing; when a shard joins, users should move only onto it`).toBe('');
  const mean = IDS / FIVE.length;
  const spread = [...counts].map(([s, n]) => `${s} ${n}`).join(', ');
  const off = [...counts].filter(([, n]) => Math.abs(n - mean) > mean * TOLERANCE);
  const taken = counts.get(NEW_SHARD) ?? 0;
  const why = taken === 0
    ? `shardFor never puts a user on ${NEW_SHARD}: with a fifth shard in the list, it must take about a fifth of the users`
    : taken < mean * (1 - TOLERANCE)
      ? `${NEW_SHARD} takes too small a share: a new shard must take its fifth from every old shard, not split one of them`
      : 'some shards hold far more than others: place each shard at many points of the ring (a thousand), or use rendezvous hashing';
  expect(off.length, `with five shards, users 1 to ${IDS.toLocaleString('en')} land ${spread}; each should hold within ${TOLERANCE * 100} % of ${mean.toLocaleString('en')}: ${why}`).toBe(0);
});

/** Why users who signed up during the move are lost, and what to do. */
const newcomersLost = 'the copy had already passed their shard when they were written under the old map, so the new shard never got them. While users move, write each new user to its owner under both maps (a second copy after the switch comes too late: until it runs, their lookups go to the new shard and miss)';

interface Known {
  name: string;
  /** Signed up while the move ran. */
  during: boolean;
}

interface Miss {
  id: number;
  status: number;
  at: number;
}

/** Signs up a user through the balancer; returns its id. */
async function signUp(client: Client, name: string): Promise<number> {
  const res = await send(client, 'POST', '/users', { name, score: name.length * 37 });
  expect(res.status, `POST /users answered ${res.status}: ${JSON.stringify(res.body)}`).toBe(200);
  return Number(res.body.id);
}

/** Ids of users on `shard`, read directly (no cost, not counted). */
const idsOn = (cluster: Cluster, shard: string) => new Set(cluster.database(shard).query<{ id: number }>('SELECT id FROM users').map((r) => r.id));

test(`${NEW_SHARD} joins while the service answers: no read misses a user, and every user ends on its shard alone`, async () => {
  const cluster = await databasesCluster();
  for (const app of APP_SERVERS) for (const shard of FIVE) cluster.link(app, shard, { latency: SHARD_LINK_MS });
  const admin = cluster.client('admin');
  const known = new Map<number, Known>();
  // Signed up ten at a time: the ids still come from the app's counter, in the order it hands them out.
  for (let i = 1; i <= USERS_BEFORE; i += 10) {
    const names = Array.from({ length: 10 }, (_, k) => `user-${i + k}`);
    const ids = await cluster.run(() => Promise.all(names.map((name) => signUp(admin, name))));
    ids.forEach((id, k) => known.set(id, { name: names[k]!, during: false }));
  }
  const moving = [...known.keys()].filter((id) => shardFor(id, [...FIVE]) === NEW_SHARD);

  // A lookup sent to the new shard while it still lacks users it should hold: reads switched before the data arrived.
  let early: { at: number; lacking: number } | undefined;
  // Once the new shard holds every user it takes, a lookup there is fine: no need to look again.
  let arrived = false;
  const started = cluster.clock.now();
  const stop = cluster.metrics.on((e) => {
    if (early || arrived || e.type !== 'query' || e.node !== NEW_SHARD || !APP_SERVERS.includes(e.from) || !/^\s*select\b[\s\S]*\bwhere\s+id\s*=/i.test(e.sql)) return;
    const there = idsOn(cluster, NEW_SHARD);
    const lacking = moving.filter((id) => !there.has(id)).length;
    if (lacking > 0) early = { at: e.at - started, lacking };
    else arrived = true;
  });

  let done = false;
  const misses: Miss[] = [];
  let reads = 0;
  let took = 0;
  /** Newcomers missed while stored only on the shard the new map gives them: written under the new map alone. */
  const newMapOnly: number[] = [];
  /** A top list, asked during the move, that showed one user more than once. */
  let doubled: { at: number; ids: number[] } | undefined;
  /** Looks `id` up, as a reader; a miss is recorded. */
  const lookUp = async (client: Client, id: number) => {
    const res = await send(client, 'GET', `/users/${id}`);
    reads++;
    if (res.status === 200 && res.body.name === known.get(id)!.name) return;
    misses.push({ id, status: res.status, at: cluster.clock.now() - started });
    if (known.get(id)!.during && !idsOn(cluster, shardFor(id, [...FOUR])).has(id) && idsOn(cluster, shardFor(id, [...FIVE])).has(id)) newMapOnly.push(id);
  };
  /** Signs up a user during the move, then looks them up at once, as a new user opening their profile would. */
  const newcomer = async (client: Client, name: string) => {
    const id = await signUp(client, name);
    known.set(id, { name, during: true });
    await lookUp(client, id);
  };
  // The copy's first read of each old shard (a SELECT that is not a lookup by id) sets off a burst of sign-ups.
  let moveSent = false;
  let topInFlight = 0;
  const scanned = new Set<string>();
  const bursts: Promise<unknown>[] = [];
  const stopBursts = cluster.metrics.on((e) => {
    if (!moveSent || done || topInFlight > 0 || e.type !== 'query' || !FOUR.includes(e.node) || scanned.has(e.node) || !APP_SERVERS.includes(e.from)) return;
    if (!/^\s*select\b/i.test(e.sql) || /\bwhere\s+id\s*=/i.test(e.sql)) return;
    scanned.add(e.node);
    bursts.push(Promise.all(Array.from({ length: SIGN_UPS_AT_COPY }, (_, k) => newcomer(cluster.client(`burst-${scanned.size}-${k + 1}`), `burst-${scanned.size}-${k + 1}`))));
  });
  // One drive of the clock for everything that runs at once: readers, a writer and the move.
  const answer = await cluster.run(async () => {
    // Readers look up known users, half of them users that move: a read that misses is a user the service lost for a moment.
    const readers = Array.from({ length: READERS }, async (_, r) => {
      const client = cluster.client(`reader-${r + 1}`);
      for (let i = r; !done; i++) {
        if (r === 0 && i % TOP_EVERY === 0) {
          topInFlight++;
          const top = await send(client, 'GET', `/users/top?n=${TOP_N}`).finally(() => topInFlight--);
          const ids = Array.isArray(top.body) ? (top.body as { id: number }[]).map((u) => u.id) : [];
          const twice = ids.filter((id, k) => ids.indexOf(id) !== k);
          if (twice.length > 0) doubled ??= { at: cluster.clock.now() - started, ids: twice };
        }
        const pool = i % 2 === 0 && moving.length > 0 ? moving : [...known.keys()];
        await lookUp(client, pool[(i * 7) % pool.length]!);
        await cluster.sleep(READ_EVERY_MS);
      }
    });
    const writer = (async () => {
      for (let i = 1; !done; i++) {
        const name = `during-${i}`;
        known.set(await signUp(cluster.client('newcomer'), name), { name, during: true });
        await cluster.sleep(SIGN_UP_EVERY_MS);
      }
    })();
    moveSent = true;
    const moved = await send(admin, 'POST', '/admin/shards', { shards: FIVE });
    took = cluster.clock.now() - started;
    done = true;
    await Promise.all([...readers, writer, ...bursts]);
    return moved;
  });
  stop();
  stopBursts();
  /** Evidence: the lookups that missed, among `missed`. */
  const missedLookups = (missed: Miss[]) => {
    const keys = new Set(missed.map((m) => `/users/${m.id}@${m.at}`));
    return calls((c) => keys.has(`${c.path}@${c.end - started}`), started);
  };

  evidence('POST /admin/shards, and its answer', calls((c) => c.from === 'admin' && c.path === '/admin/shards', started));
  expect(answer.status, `POST /admin/shards with ${FIVE.join(', ')} answered ${answer.status} ${JSON.stringify(answer.body)}: it should move the users ${NEW_SHARD} now owns and answer 200 when the move is done`).toBe(200);
  if (early) {
    const firstLookup = started + early.at;
    evidence(`what reached ${NEW_SHARD} from the move's start to the first lookup there, sent while users were still missing`, queries((q) => APP_SERVERS.includes(q.from) && q.node === NEW_SHARD && q.at <= firstLookup, started));
    expect.fail(`${early.at} ms into the move, a lookup was sent to ${NEW_SHARD} while it still lacked ${early.lacking} of the ${moving.length} users it takes (${misses.length} of ${reads} reads during the move missed a user): reads switched to the new shard before its data arrived. Copy the users first, and switch reads to the new map only once they are all there`);
  }
  if (newMapOnly.length > 0) {
    const id = newMapOnly[0]!;
    evidence('the lookups that missed users who signed up during the move', missedLookups(misses.filter((m) => newMapOnly.includes(m.id))));
    expect.fail(`${newMapOnly.length} users who signed up during the move were not found right after signing up (GET /users/${id} answered 404): user ${id} was written only to ${shardFor(id, [...FIVE])}, its shard under the new map, while lookups still used the old one, which names ${shardFor(id, [...FOUR])}. While users move, write each new user under both maps`);
  }
  const missedNewcomers = [...new Set(misses.filter((m) => known.get(m.id)!.during).map((m) => m.id))];
  if (missedNewcomers.length > 0) {
    evidence('the lookups that missed users who signed up during the move', missedLookups(misses.filter((m) => known.get(m.id)!.during)));
    expect.fail(`${missedNewcomers.length} users who signed up during the move went missing (GET /users/${missedNewcomers[0]} answered 404): ${newcomersLost}`);
  }
  const first = misses[0];
  if (doubled) {
    evidence(`the top lists asked during the move (GET /users/top?n=${TOP_N}); one listed user ${doubled.ids[0]} twice`, calls((c) => c.path === '/users/top', started));
    expect.fail(`${doubled.at} ms into the move, GET /users/top?n=${TOP_N} listed user ${doubled.ids[0]} twice: while a user is copied, it is on two shards for a moment; keep each id once when merging the shards' lists`);
  }
  evidence('the lookups during the move that missed a user', missedLookups(misses));
  expect(misses.length, `${misses.length} of ${reads} reads during the move missed a user${first ? ` (GET /users/${first.id} answered ${first.status}, ${first.at} ms in)` : ''}: every user must be found on the shard reads use, before, during and after the switch`).toBe(0);

  // After the move: every user on the shard shardFor names under five shards, and only there.
  const stored = new Map(FIVE.map((s) => [s, idsOn(cluster, s)]));
  const lost: number[] = [];
  const twice: string[] = [];
  for (const id of known.keys()) {
    const owner = shardFor(id, [...FIVE]);
    const on = FIVE.filter((s) => stored.get(s)!.has(id));
    if (!on.includes(owner)) lost.push(id);
    else if (on.length > 1) twice.push(`user ${id} on ${on.join(' and ')}`);
  }
  const lostDuring = lost.filter((id) => known.get(id)!.during);
  evidence('the writes sent to the shards while users moved (the copy, its deletes, the sign-ups)', queries((q) => APP_SERVERS.includes(q.from) && FIVE.includes(q.node) && !isSelect(q.sql) && q.at <= started + took, started));
  if (lostDuring.length > 0) {
    const id = lostDuring[0]!;
    expect.fail(`${lostDuring.length} users who signed up during the move went missing: once it was over (${took} ms), they were not on the shard that now holds them (user ${id} should be on ${shardFor(id, [...FIVE])}, and is on ${FIVE.filter((s) => stored.get(s)!.has(id)).join(', ') || 'no shard'}): ${newcomersLost}`);
  }
  expect(lost.length, `after the move, ${lost.length} of ${known.size} users are not on the shard shardFor names with five shards (user ${lost[0]} should be on ${lost[0] === undefined ? '' : shardFor(lost[0], [...FIVE])}): copy every user whose shard changes`).toBe(0);
  expect(twice.length, `after the move, ${twice.length} users are still on their old shard as well (${twice.slice(0, 3).join('; ')}): once reads have switched, delete the moved rows from the shard they left, or the old copies go stale and are counted twice`).toBe(0);
  const visitor = cluster.client('visitor');
  const asked = new Set<string>();
  const stopAsking = cluster.metrics.on((e) => {
    if (e.type === 'query' && APP_SERVERS.includes(e.from) && FIVE.includes(e.node)) asked.add(e.node);
  });
  for (const id of [...moving.slice(0, 5), ...[...known.keys()].filter((k) => known.get(k)!.during).slice(0, 5)]) {
    asked.clear();
    const sentAt = cluster.clock.now();
    const res = await send(visitor, 'GET', `/users/${id}`);
    evidence(`GET /users/${id} after the move, and the queries it sent the shards`, requestsAndQueries('visitor', FIVE, sentAt));
    expect(res.status, `after the move, GET /users/${id} answered ${res.status}: user ${id} is on ${shardFor(id, [...FIVE])}; every clone must read with the new shard list (keep it where all clones see it, such as kv)`).toBe(200);
    expect(asked.size, `after the move, GET /users/${id} asked ${asked.size} shards (${[...asked].join(', ')}): a lookup by id asks only the shard shardFor names`).toBe(1);
  }
  stopAsking();
});

/** Sign-ups on their way when the move starts: this many at once, on app servers far from the shards. */
const WRITERS_IN_FLIGHT = 40;
const FAR_MS = 150;

test(`sign-ups already on their way when the move starts reach their shard under the new map too`, async () => {
  const cluster = await databasesCluster();
  // app-1 runs the move, next to the shards; app-2 and app-3 take the sign-ups, FAR_MS from them.
  for (const shard of FIVE) {
    cluster.link('app-1', shard, { latency: SHARD_LINK_MS });
    for (const app of ['app-2', 'app-3']) cluster.link(app, shard, { latency: FAR_MS });
  }
  const admin = cluster.client('admin');
  const signedUp: { id: number; from: string }[] = [];
  let done = false;
  let moving = false;
  await cluster.run(async () => {
    const writers = Array.from({ length: WRITERS_IN_FLIGHT }, async (_, w) => {
      const app = w % 2 === 0 ? 'app-2' : 'app-3';
      const client = cluster.client(`writer-${w + 1}`);
      for (let i = 1; !done; i++) {
        const res = await client.fetch(`http://${app}/users`, { method: 'POST', body: JSON.stringify({ name: `w${w + 1}-${i}`, score: i }) });
        const body = (await res.json().catch(() => ({}))) as { id?: number };
        if (moving && res.status === 200 && typeof body.id === 'number') signedUp.push({ id: body.id, from: app });
        await cluster.sleep(7 * w % 50);
      }
    });
    await cluster.sleep(3 * FAR_MS);
    moving = true;
    const moved = await admin.fetch('http://app-1/admin/shards', { method: 'POST', body: JSON.stringify({ shards: FIVE }) });
    expect(moved.status, `POST /admin/shards on app-1 answered ${moved.status}`).toBe(200);
    done = true;
    await Promise.all(writers);
  });
  const lost = signedUp.filter(({ id }) => !idsOn(cluster, shardFor(id, [...FIVE])).has(id));
  if (lost.length > 0) {
    const { id, from } = lost[0]!;
    evidence(`the writes of user ${id}'s sign-up, and the move's reads of the shards`, queries((q) => FIVE.includes(q.node) && (q.from === 'app-1' ? isSelect(q.sql) && !/\bwhere\s+id\s*=/i.test(q.sql) : !isSelect(q.sql)), 0));
    expect.fail(`${lost.length} users who signed up as the move began are not on the shard that now holds them (user ${id}, signed up on ${from}, should be on ${shardFor(id, [...FIVE])}, and is on ${FIVE.filter((sh) => idsOn(cluster, sh).has(id)).join(', ') || 'no shard'}): ${from} read the shard map just before it changed, so it wrote user ${id} under the old map only, and its INSERT, ${FAR_MS} ms on its way, landed after the copy had read that shard. Once sign-ups write under both maps, wait for those already on their way to finish (longer than a sign-up takes, e.g. await ctx.sleep(200)) before you copy`);
  }
});

