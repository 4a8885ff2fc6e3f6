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
  store.flushAll();
  const me = await whoAmI(cluster, cookie);
  expect(me.status, 'the key-value store was emptied but GET /me still knew the user: the session is also kept in memory (a module-level Map?), which real clones do not share').toBe(401);
});
