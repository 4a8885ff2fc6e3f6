/**
 * The playground's session on the Clones lab, built from its files as the Worker builds it, with
 * the kit's code as the browser gets it: frames bounded and aggregated, traffic through the load
 * generator, a kill seen in the picture and in the errors, and a re-run that replays the same
 * traffic and faults at the same virtual times.
 */
import { beforeAll, expect, test } from 'vitest';
import { buildLabBundle, bundleKit } from '../../../scripts/build-lab-assets.ts';
import { findLab } from '../../../scripts/lab-runner/catalog.ts';
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import { buildCluster } from '../../../src/lab-runtime/playground/build-cluster.ts';
import { bounded, expandPath, PlaygroundSession } from '../../../src/lab-runtime/playground/session.ts';
import { MAX_FRAME_BYTES, type Action, type Frame } from '../../../src/lab-runtime/playground/protocol.ts';

let bundle: LabBundle;
let kitCode: string;

beforeAll(async () => {
  [bundle, kitCode] = await Promise.all([buildLabBundle(findLab('clones')), bundleKit()]);
});

/** Step 1's answer: round robin, no health checks, no retries. */
const ROUND_ROBIN = `import type { Handler, NodeContext } from '@scale-lab/kit';
export function createBalancer(ctx: NodeContext, servers: string[]): Handler {
  let next = 0;
  return async (req) => ctx.forward(req, servers[next++ % servers.length]!);
}
`;

const quiet = { log() {}, info() {}, debug() {}, warn() {}, error() {} };

async function session(files: Record<string, string>, replay: Action[] = []) {
  const cluster = await buildCluster({ kit: kitCode, bundle, files, seed: 7, console: quiet });
  const frames: Frame[] = [];
  const s = new PlaygroundSession(cluster, { run: 1, entry: bundle.lab.cluster.entry, replay, post: (f) => frames.push(f) });
  return { s, frames };
}

/** Ticks of 100 ms of cluster time until `until` ms. */
async function runUntil(s: PlaygroundSession, until: number): Promise<void> {
  while (s.now < until) await s.tick(100);
}

const sum = (frames: Frame[], pick: (f: Frame) => number) => frames.reduce((n, f) => n + pick(f), 0);
/** Failed client requests over the frames (each point's rate times its window). */
const errorsOf = (frames: Frame[]) => sum(frames, (f) => f.points.reduce((n, p) => n + p.failed, 0));

test('traffic shows up per node; killing app-2 draws it killed and, without retries, costs errors', async () => {
  const { s, frames } = await session({ ...bundle.starter, 'balancer.ts': ROUND_ROBIN });
  s.act({ type: 'traffic', traffic: { rate: 50, path: '/' } });
  await runUntil(s, 3000);
  const before = frames.at(-1)!;
  expect(before.nodes.map((n) => n.name).sort()).toEqual(['app-1', 'app-2', 'app-3', 'kv', 'lb']);
  const lb = before.nodes.find((n) => n.name === 'lb')!;
  expect(lb.rps).toBeGreaterThan(0);
  expect(before.links.some((l) => l.from === 'client' && l.to === 'lb')).toBe(true);
  expect(errorsOf(frames)).toBe(0);

  s.act({ type: 'fault', fault: { op: 'kill', node: 'app-2' } });
  const at = frames.length;
  await runUntil(s, 6000);
  const after = frames.slice(at);
  expect(after.at(-1)!.nodes.find((n) => n.name === 'app-2')!.state).toBe('killed');
  // The starter forwards without retrying: a third of the requests fail while app-2 is down.
  expect(errorsOf(after)).toBeGreaterThan(20);
  for (const f of frames) expect(JSON.stringify(f).length).toBeLessThan(MAX_FRAME_BYTES);
  s.stop();
});

test('with the solution, the same traffic and kill, replayed, cause no errors; the replay is exact', async () => {
  const first = await session({ ...bundle.starter, 'balancer.ts': ROUND_ROBIN });
  first.s.act({ type: 'traffic', traffic: { rate: 50, path: '/' } });
  await runUntil(first.s, 2000);
  first.s.act({ type: 'fault', fault: { op: 'kill', node: 'app-2' } });
  await runUntil(first.s, 6000);
  first.s.stop();
  const recorded = first.frames.flatMap((f) => f.actions);
  expect(recorded.map((a) => a.at)).toEqual([0, 2000]);

  // The same code, replayed at another pace (ticks of 250 ms): the same figures at the same times.
  const again = await session({ ...bundle.starter, 'balancer.ts': ROUND_ROBIN }, recorded);
  while (again.s.now < 6000) await again.s.tick(250);
  again.s.stop();
  const points = (frames: Frame[]) => frames.flatMap((f) => f.points);
  expect(points(again.frames)).toHaveLength(6);
  expect(points(again.frames)).toEqual(points(first.frames));
  expect(errorsOf(first.frames)).toBeGreaterThan(20);

  const fixed = await session({ ...bundle.starter, ...bundle.solution }, recorded);
  await runUntil(fixed.s, 6000);
  fixed.s.stop();
  expect(fixed.frames.flatMap((f) => f.actions)).toEqual(recorded);
  expect(fixed.frames.at(-1)!.nodes.find((n) => n.name === 'app-2')!.state).toBe('killed');
  expect(sum(fixed.frames, (f) => f.points.reduce((n, p) => n + p.completed, 0))).toBeGreaterThan(250);
  expect(errorsOf(fixed.frames)).toBe(0);
});

test('code that cannot build a cluster is reported in the reader’s terms', async () => {
  await expect(buildCluster({ kit: kitCode, bundle, files: { 'balancer.ts': 'export const x = Date.now();' }, seed: 1, console: quiet })).rejects.toThrow(/Date\.now/);
});

test('paths with a range cycle through it; frames are cut to stay bounded', () => {
  expect([0, 1, 2, 3].map((i) => expandPath('/products/{1-3}', i))).toEqual(['/products/1', '/products/2', '/products/3', '/products/1']);
  expect(expandPath('/', 5)).toBe('/');
  const huge: Frame = {
    type: 'frame', run: 1, now: 0, speed: 0, nodes: [], clients: [], points: [], actions: [],
    links: Array.from({ length: 5000 }, (_, i) => ({ from: `node-${i}`, to: `node-${i + 1}`, calls: i, failures: 0 })),
    logs: Array.from({ length: 20 }, () => ({ at: 0, node: 'a', message: 'x'.repeat(300) })),
  };
  const cut = bounded(huge);
  expect(JSON.stringify(cut).length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  expect(cut.links.length).toBeGreaterThan(0);
});

test('traffic from a region comes from a client placed there, and carries that region’s latency', async () => {
  const { Cluster } = await import('../../../labs/kit/cluster.ts');
  const cluster = new Cluster({ seed: 3 });
  cluster.addNode('app', () => async () => new Response('hello'));
  cluster.place('us-east', 'app');
  const frames: Frame[] = [];
  const s = new PlaygroundSession(cluster, { run: 1, entry: 'app', post: (f) => frames.push(f) });
  s.act({ type: 'traffic', traffic: { rate: 20, path: '/', region: 'eu-west' } });
  await runUntil(s, 2000);
  s.stop();
  const last = frames.at(-1)!;
  expect(last.clients).toContainEqual({ name: 'client-eu-west', region: 'eu-west' });
  expect(last.links.some((l) => l.from === 'client-eu-west' && l.to === 'app')).toBe(true);
  const points = frames.flatMap((f) => f.points);
  expect(points.reduce((n, p) => n + p.completed, 0)).toBeGreaterThan(20);
  expect(points.reduce((n, p) => n + p.failed, 0)).toBe(0);
  // A transatlantic round trip, not the 0 ms of a client beside the server.
  expect(points.at(-1)!.p50).toBeGreaterThan(50);
});
