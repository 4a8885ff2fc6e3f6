/**
 * A node's figures in words, the same for the picture, the table and the announcements: what the
 * picture draws is always also written, so colour is never the only signal.
 */
import type { NodeFigures } from '../../../lab-runtime/playground/protocol.ts';

const STATE_WORDS: Record<NodeFigures['state'], string> = { up: 'up', killed: 'down (killed)', failing: 'failing (answers 5xx)', slow: 'slow', hung: 'hung (never answers)' };
/** A short tag drawn on the node; a symbol and a word. */
const STATE_TAGS: Record<NodeFigures['state'], string> = { up: '', killed: '✕ down', failing: '! failing', slow: '◔ slow', hung: '⏸ hung' };

export function stateWords(n: NodeFigures): string {
  return `${STATE_WORDS[n.state]}${n.partitioned ? ', cut off by a partition' : ''}`;
}

export function stateTag(n: NodeFigures): string {
  return [STATE_TAGS[n.state], n.partitioned ? '⛓ cut off' : ''].filter(Boolean).join(' ');
}

/** What the node is, for people: its role, else its kind. */
export function roleWords(n: NodeFigures): string {
  if (n.role) return n.role;
  return { http: 'HTTP node', kv: 'key-value store', db: 'database', queue: 'queue', topic: 'topic' }[n.kind] ?? n.kind;
}

const rate = (x: number) => (x >= 10 ? Math.round(x).toString() : x >= 1 ? x.toFixed(1) : x > 0 ? x.toFixed(2) : '0');
const percent = (x: number) => `${Math.round(x * 100)}%`;

/** The main line: throughput and errors. */
export function trafficLine(n: NodeFigures): string {
  const unit = n.kind === 'http' ? 'req/s' : 'ops/s';
  return `${rate(n.rps)} ${unit}${n.errors > 0 ? ` · ${rate(n.errors)} err/s` : ''}`;
}

/** The second line: what else this kind of node has. */
export function detailLine(n: NodeFigures): string {
  const parts: string[] = [];
  if (n.cache) parts.push(`hits ${rate(n.cache.hits)}/s`, `misses ${rate(n.cache.misses)}/s`, `stale ${rate(n.cache.stale)}/s`);
  else if (n.hitRatio !== null) parts.push(`hit ratio ${percent(n.hitRatio)}`);
  if (n.queue) parts.push(`depth ${n.queue.depth}`, `in flight ${n.queue.inFlight}`);
  else parts.push(`in flight ${n.inFlight}`);
  if (n.cpu !== null) parts.push(`CPU ${percent(n.cpu)}`);
  if (n.lag !== null) parts.push(`lag ${Math.round(n.lag)} ms`);
  return parts.join(' · ');
}
