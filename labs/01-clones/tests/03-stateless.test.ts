import { expect, test } from 'vitest';
import { evidence, type Cluster } from '@scale-lab/kit';
import { APP_SERVERS, clonesCluster } from './helpers.ts';

async function login(cluster: Cluster, user: string): Promise<string> {
  const res = await cluster.fetch('http://lb/login', { method: 'POST', body: JSON.stringify({ user }) });
  expect(res.status, 'POST /login did not answer 200').toBe(200);
  const cookie = res.headers.get('set-cookie')?.split(';')[0];
  expect(cookie, 'POST /login set no cookie').toBeTruthy();
  return cookie!;
}

async function whoAmI(cluster: Cluster, cookie: string): Promise<{ status: number; user?: string; server?: string }> {
  const res = await cluster.fetch('http://lb/me', { headers: { cookie } });
  const body = (await res.json().catch(() => ({}))) as { user?: string; server?: string };
  return { status: res.status, ...body };
}

test('a logged-in user stays logged in whichever server answers', async () => {
  const cluster = clonesCluster();
  const cookie = await login(cluster, 'ada');
  const answers = [];
  for (let i = 0; i < 9; i++) answers.push(await whoAmI(cluster, cookie));
  const lost = answers.filter((a) => a.status !== 200 || a.user !== 'ada');
  evidence('the 9 GET /me requests, and which server answered each', (e) => e.type === 'request' && e.from === 'lb' && e.path === '/me');
  const where = [...new Set(lost.map((a) => a.server ?? '?'))].join(', ');
  expect(lost.length, `${lost.length} of 9 requests to GET /me did not know the user (answered by ${where}): the session was kept in the memory of the server that logged her in; store sessions in ctx.kv so every server sees them`).toBe(0);
});

test('users who log in on different servers each stay themselves', async () => {
  const cluster = clonesCluster();
  const users = ['ada', 'grace', 'linus'];
  const cookies = [];
  // Three logins in a row: the balancer gives each to another server.
  for (const user of users) cookies.push(await login(cluster, user));
  evidence('the logins and GET /me requests, and which server answered each', (e) => e.type === 'request' && e.from === 'lb');
  for (let round = 0; round < 3; round++) {
    for (const [i, user] of users.entries()) {
      const me = await whoAmI(cluster, cookies[i]!);
      expect(me.user, `${user} logged in, and GET /me with her cookie answered ${me.status} ${me.user ? `as ${me.user}` : 'without a user'} (from ${me.server ?? '?'}): two logins got the same session id, or one overwrote the other's session; session ids must be unique across every server and restart, e.g. random`).toBe(user);
    }
  }
});

test('logins after a restart, and logins at the same moment, each get a session of their own', async () => {
  const cluster = clonesCluster();
  const before = ['ada', 'grace', 'linus'];
  const cookies = new Map<string, string>();
  for (const user of before) cookies.set(user, await login(cluster, user));
  // Every server restarts: whatever it counted in memory starts again.
  for (const server of APP_SERVERS) cluster.restart(server);
  const after = ['barbara', 'edsger', 'margaret'];
  for (const user of after) cookies.set(user, await login(cluster, user));
  // Three logins at the same instant, one on each server.
  const together = ['ken', 'dennis', 'bjarne'];
  const sent = await cluster.run(() => Promise.all(together.map((user) => login(cluster, user))));
  together.forEach((user, i) => cookies.set(user, sent[i]!));
  evidence('the logins and the session writes behind them', (e) => (e.type === 'request' && e.from === 'lb' && e.path === '/login') || (e.type === 'kv' && e.command === 'SET'));
  for (const [user, cookie] of cookies) {
    const me = await whoAmI(cluster, cookie);
    const when = before.includes(user) ? 'before every server restarted' : after.includes(user) ? 'after every server restarted' : 'at the same moment as two other users';
    expect(me.user, `${user} logged in ${when}, and GET /me with her cookie (${cookie}) answered ${me.status} ${me.user ? `as ${me.user}` : 'without a user'}: two logins got the same session id, so one took over the other's session; an id from a counter in a server's memory starts again after a restart, and one from the clock repeats when two logins come at once: make session ids random, e.g. from ctx.random()`).toBe(user);
  }
});

test('sessions survive a restart of every app server', async () => {
  const cluster = clonesCluster();
  const cookie = await login(cluster, 'grace');
  for (const server of APP_SERVERS) cluster.restart(server);
  await cluster.sleep(3000);
  const me = await whoAmI(cluster, cookie);
  evidence('GET /me after the restarts, and the session lookups behind it', (e) => (e.type === 'answered' && e.path === '/me') || e.type === 'kv');
  expect(me.status, `after every app server restarted, GET /me answered ${me.status}: the session was lost with the servers' memory; store sessions in ctx.kv`).toBe(200);
  expect(me.user).toBe('grace');
});

test('sessions live in the key-value store, with an expiry', async () => {
  const cluster = clonesCluster();
  const cookie = await login(cluster, 'linus');
  const store = cluster.store('kv');
  const keys = store.keys('*');
  evidence('what the login did: its requests and the key-value commands they sent', (e) => (e.type === 'answered' && e.path === '/login') || e.type === 'kv');
  expect(keys.length, 'after a login the key-value store holds no key: where is the session?').toBeGreaterThan(0);
  const withoutExpiry = keys.filter((k) => store.ttl(k) < 0);
  expect(withoutExpiry, 'session keys with no expiry pile up forever; set one, e.g. ctx.kv.set(key, value, { ex: 86400 })').toEqual([]);
  for (let i = 0; i < 3; i++) await whoAmI(cluster, cookie);
  const refreshed = keys.filter((k) => store.ttl(k) < 0);
  expect(refreshed, 'after GET /me the session key has no expiry any more: a SET without { ex } replaces the expiry; extend a session with ctx.kv.expire(key, seconds), or SET it again with { ex }').toEqual([]);
  store.flushAll();
  // Once on every server: a copy kept by any one of them shows.
  for (let i = 0; i < 3; i++) {
    const me = await whoAmI(cluster, cookie);
    expect(me.status, `the key-value store was emptied but GET /me on ${me.server ?? 'a server'} still knew the user: the session is also kept in memory (a module-level Map?) or in a copy on one server, which real clones do not share and which a logout or an expiry in the store does not reach`).toBe(401);
  }
});
