/**
 * A replay's rows, as the diagram and the list show them: one row per message, state change or log
 * line, except that a stretch where the same few messages repeat becomes one row ("× 140"), and the
 * part a recording left out becomes one row that says what it held. Also the cluster's figures at
 * any instant of the replay, for the picture.
 */
import type { ClusterReplay, ReplayEntry } from '../../../../labs/harness/results.ts';
import type { Frame, NodeFigures } from '../../../lab-runtime/playground/protocol.ts';
import { layoutCluster } from '../picture/layout.ts';

export type Row =
  | { kind: 'entries'; entries: ReplayEntry[]; times: number; at: number; end: number; evidence: number[] }
  | { kind: 'cut'; dropped: number; from: number; to: number; summary: { what: string; count: number }[]; at: number; end: number; evidence: number[] };

/** A block repeated at least this many times in a row is drawn once. */
const MIN_REPEATS = 3;
/** Longest block looked for (a client's call, the balancer's, the store's…). */
const MAX_BLOCK = 4;

function signature(e: ReplayEntry): string {
  switch (e.kind) {
    case 'call':
      return `c|${e.from}|${e.to}|${e.what}|${e.status ?? e.failure ?? 'unanswered'}|${e.evidence?.join(',') ?? ''}`;
    case 'op':
      return `o|${e.from}|${e.to}|${e.what.replace(/\d+/g, '#')}|${e.evidence?.join(',') ?? ''}`;
    case 'state':
      return `s|${e.node}|${e.state}`;
    case 'log':
      return `l|${e.node}|${e.text}`;
    case 'note':
      return `n|${e.node}|${e.text.replace(/\d+/g, '#')}|${e.evidence?.join(',') ?? ''}`;
  }
}

const endOf = (e: ReplayEntry) => (e.kind === 'call' ? e.end : e.at);

function rowOf(entries: ReplayEntry[], times: number, all: ReplayEntry[]): Row {
  const evidence = [...new Set(all.flatMap((e) => ('evidence' in e && e.evidence) || []))];
  return { kind: 'entries', entries, times, at: all[0]!.at, end: Math.max(...all.map(endOf)), evidence };
}

/** Collapses repeats within one stretch of entries (a block of up to MAX_BLOCK, repeated ≥ MIN_REPEATS times). */
function collapse(entries: ReplayEntry[]): Row[] {
  const sigs = entries.map(signature);
  const rows: Row[] = [];
  let i = 0;
  while (i < entries.length) {
    let best = { block: 1, times: 1 };
    for (let block = 1; block <= MAX_BLOCK && i + block * MIN_REPEATS <= entries.length; block++) {
      let times = 1;
      while (i + (times + 1) * block <= entries.length && sameBlock(sigs, i, i + times * block, block)) times++;
      if (times >= MIN_REPEATS && times * block > best.times * best.block) best = { block, times };
    }
    const span = best.block * best.times;
    rows.push(rowOf(entries.slice(i, i + best.block), best.times, entries.slice(i, i + span)));
    i += span;
  }
  return rows;
}

function sameBlock(sigs: string[], a: number, b: number, block: number): boolean {
  for (let k = 0; k < block; k++) if (sigs[a + k] !== sigs[b + k]) return false;
  return true;
}

/** The rows of one cluster's replay, each cut in its place (the evidence kept from a cut between them). */
export function rowsOf(cluster: ClusterReplay): Row[] {
  const { entries, cuts = [] } = cluster;
  const rows: Row[] = [];
  let from = 0;
  for (const cut of cuts) {
    rows.push(...collapse(entries.slice(from, cut.at)), { kind: 'cut', dropped: cut.dropped, from: cut.from, to: cut.to, summary: cut.summary, at: cut.from, end: cut.to, evidence: [] });
    from = cut.at;
  }
  rows.push(...collapse(entries.slice(from)));
  return rows;
}

/**
 * Every sender and receiver, in the order the diagram draws their lifelines: as the picture lays
 * them out, in the direction calls flow (clients, then the entry, then what it calls…).
 */
export function lifelines(cluster: ClusterReplay, entry: string): string[] {
  const links = new Map<string, { from: string; to: string }>();
  for (const e of cluster.entries) if (e.kind === 'call' || e.kind === 'op') links.set(`${e.from}>${e.to}`, { from: e.from, to: e.to });
  const names = new Set(cluster.nodes.map((n) => n.name));
  const clients = [...cluster.clients];
  for (const l of links.values()) if (!names.has(l.from) && !clients.some((c) => c.name === l.from)) clients.push({ name: l.from });
  // A client's private cache notes its answers on the client's own line.
  for (const e of cluster.entries) if (e.kind === 'note' && !names.has(e.node) && !clients.some((c) => c.name === e.node)) clients.push({ name: e.node });
  const layout = layoutCluster({ nodes: cluster.nodes.map((n) => ({ name: n.name, kind: n.kind, region: n.region })), clients: clients.map((c) => ({ name: c.name, region: c.region })), links: [...links.values()], entry });
  return [...layout.boxes.values()].sort((a, b) => a.column - b.column || a.y - b.y || a.x - b.x).map((b) => b.name);
}

/** Ms of cluster time, in words a reader scans: "1.250 s". */
export function timeText(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

/** One entry in words, for the list and for the diagram's tooltips. */
export function entryText(e: ReplayEntry): string {
  switch (e.kind) {
    case 'call':
      if (e.unanswered) return `${e.from} → ${e.to}: ${e.what}, no answer by ${Math.round(e.end - e.at).toLocaleString('en')} ms, when the test ended`;
      return `${e.from} → ${e.to}: ${e.what}, ${e.status !== undefined ? `answered ${e.status}` : `failed (${e.failure})`} after ${Math.round(e.end - e.at)} ms`;
    case 'op':
      return `${e.from} → ${e.to}: ${e.what}`;
    case 'state':
      return `${e.node} is now ${e.state === 'restarted' ? 'up again (restarted)' : e.state}`;
    case 'log':
      return `${e.node} logged: ${e.text}`;
    case 'note':
      return `${e.node}: ${e.text}`;
  }
}

/** A row in words: when, what, how many times, and the evidence it holds. */
export function rowText(row: Row, labels: string[]): string {
  const when = row.end > row.at ? `${timeText(row.at)} to ${timeText(row.end)}` : timeText(row.at);
  if (row.kind === 'cut') {
    const kinds = row.summary.map((s) => `${s.what} × ${s.count}`).join('; ');
    return `${when}: ${row.dropped.toLocaleString('en')} messages left out to keep the replay small (${kinds})`;
  }
  const what = row.entries.map(entryText).join('; then ');
  const repeated = row.times > 1 ? `${row.times} times: ${what}` : what;
  const evidence = row.evidence.length ? `. Evidence: ${row.evidence.map((i) => labels[i]).join('; ')}` : '';
  return `${when}: ${repeated}${evidence}`;
}

const STATES: Record<string, NodeFigures['state']> = { killed: 'killed', failing: 'failing', slow: 'slow', hung: 'hung', up: 'up', restarted: 'up', promoted: 'up' };
const WINDOW_MS = 1000;

/**
 * The cluster at the end of `upTo` (a row index): node states from the state changes so far, and
 * per node and link the calls of the last second of cluster time before it, in the picture's terms.
 */
export function frameAt(cluster: ClusterReplay, rows: Row[], upTo: number): Pick<Frame, 'nodes' | 'clients' | 'links'> {
  const now = rows[upTo]?.end ?? 0;
  const states = new Map<string, NodeFigures['state']>();
  const served = new Map<string, { calls: number; errors: number; inFlight: number; hits: number; reads: number }>();
  const links = new Map<string, { from: string; to: string; calls: number; failures: number }>();
  const figure = (name: string) => {
    let f = served.get(name);
    if (!f) served.set(name, (f = { calls: 0, errors: 0, inFlight: 0, hits: 0, reads: 0 }));
    return f;
  };
  rows.slice(0, upTo + 1).forEach((row) => {
    if (row.kind !== 'entries') return;
    for (const e of row.entries) {
      if (e.kind === 'state') states.set(e.node, STATES[e.state] ?? 'up');
      if (e.kind !== 'call' && e.kind !== 'op') continue;
      const end = endOf(e);
      const recent = end > now - WINDOW_MS;
      const f = figure(e.to);
      // A call never answered is still in flight when the test ended, at its `end`.
      if (e.kind === 'call' && e.at <= now && (end > now || e.unanswered)) f.inFlight += 1;
      if (!recent) continue;
      const failed = e.kind === 'call' && (e.failure !== undefined || (e.status ?? 0) >= 500);
      f.calls += row.times;
      if (failed) f.errors += row.times;
      if (e.kind === 'op' && / \((hit|miss)\)$/.test(e.what)) {
        f.reads += row.times;
        if (e.what.endsWith('(hit)')) f.hits += row.times;
      }
      const key = `${e.from}>${e.to}`;
      const link = links.get(key) ?? { from: e.from, to: e.to, calls: 0, failures: 0 };
      link.calls += row.times;
      if (failed) link.failures += row.times;
      links.set(key, link);
    }
  });
  const nodes: NodeFigures[] = cluster.nodes.map((n) => {
    const f = served.get(n.name);
    return {
      name: n.name,
      kind: n.kind,
      role: n.role,
      region: n.region,
      state: states.get(n.name) ?? 'up',
      partitioned: false,
      rps: (f?.calls ?? 0) * (1000 / WINDOW_MS),
      errors: (f?.errors ?? 0) * (1000 / WINDOW_MS),
      inFlight: f?.inFlight ?? 0,
      cpu: null,
      hitRatio: f && f.reads > 0 ? f.hits / f.reads : null,
      cache: null,
      queue: null,
      lag: null,
    };
  });
  const names = new Set(cluster.nodes.map((n) => n.name));
  const clients = [...cluster.clients];
  for (const l of links.values()) if (!names.has(l.from) && !clients.some((c) => c.name === l.from)) clients.push({ name: l.from });
  // A client's private cache notes its answers on the client's own line.
  for (const e of cluster.entries) if (e.kind === 'note' && !names.has(e.node) && !clients.some((c) => c.name === e.node)) clients.push({ name: e.node });
  return { nodes, clients: clients.map((c) => ({ name: c.name, region: c.region })), links: [...links.values()] };
}
