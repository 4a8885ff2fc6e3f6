/**
 * A replay saved to a file, to keep it or to ask someone for help, and read back: what is opened is
 * checked piece by piece, and anything that is not a replay of this lab is refused with a reason in
 * plain words (the file may come from anywhere).
 */
import type { ClusterReplay, ReplayEntry, TestReplay } from '../../../../labs/harness/results.ts';

export const REPLAY_FORMAT = 'scale-lab-replay';
/** 2: a cluster's `cuts` (evidence kept between them), calls `unanswered`; 1 had at most one `cut`, read as `cuts`. */
export const REPLAY_VERSION = 2;
/** A run's replays are bounded well below this; a bigger file is not one of ours. */
export const MAX_REPLAY_BYTES = 5 * 1024 * 1024;

export interface ReplayFile {
  format: typeof REPLAY_FORMAT;
  version: number;
  /** The lab's folder name, e.g. "01-clones". */
  lab: string;
  step: { id: string; title: string };
  /** The failure message the reader saw. */
  message: string;
  replay: TestReplay;
}

export function replayFileName(file: ReplayFile): string {
  const slug = file.replay.test.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48);
  return `replay-${file.lab}-${file.step.id}-${slug}.json`;
}

export function replayFileText(file: ReplayFile): string {
  return `${JSON.stringify(file)}\n`;
}

/** Why a value is not what a replay holds; thrown with the reader's words. */
class NotAReplay extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isText = (v: unknown): v is string => typeof v === 'string';

function need(ok: boolean, what: string): void {
  if (!ok) throw new NotAReplay(what);
}

function checkEntry(e: unknown, where: string): ReplayEntry {
  need(isObject(e) && isNumber(e.at), `${where} has no time`);
  const entry = e as Record<string, unknown>;
  switch (entry.kind) {
    case 'call':
      need(isNumber(entry.end) && isText(entry.from) && isText(entry.to) && isText(entry.what), `${where} is a call without its sender, receiver, request or end`);
      need(isNumber(entry.status) || isText(entry.failure) || entry.unanswered === true, `${where} is a call with neither an answer nor a failure`);
      break;
    case 'op':
      need(isText(entry.from) && isText(entry.to) && isText(entry.what), `${where} is an operation without its sender, receiver or command`);
      break;
    case 'state':
      need(isText(entry.node) && isText(entry.state), `${where} is a state change without its node or state`);
      break;
    case 'log':
      need(isText(entry.node) && isText(entry.text), `${where} is a log line without its node or text`);
      break;
    case 'note':
      need(isText(entry.node) && isText(entry.text), `${where} is a note without its node or text`);
      break;
    default:
      throw new NotAReplay(`${where} is of a kind a replay does not have (${JSON.stringify(entry.kind)})`);
  }
  if (entry.evidence !== undefined) need(Array.isArray(entry.evidence) && entry.evidence.every((i) => Number.isInteger(i) && (i as number) >= 0), `${where} marks evidence with something other than numbers`);
  return entry as unknown as ReplayEntry;
}

function checkCluster(c: unknown, i: number, labels: number): ClusterReplay {
  const where = `cluster ${i + 1}`;
  need(isObject(c) && isNumber(c.seed), `${where} has no seed`);
  const cluster = c as Record<string, unknown>;
  need(Array.isArray(cluster.nodes) && cluster.nodes.every((n) => isObject(n) && isText(n.name) && isText(n.kind)), `${where} has no list of nodes`);
  need(Array.isArray(cluster.clients) && cluster.clients.every((n) => isObject(n) && isText(n.name)), `${where} has no list of clients`);
  need(Array.isArray(cluster.entries), `${where} has no messages`);
  const entries = (cluster.entries as unknown[]).map((e, k) => checkEntry(e, `message ${k + 1} of ${where}`));
  for (const e of entries) if ('evidence' in e && e.evidence) need(e.evidence.every((k) => k < labels), `${where} marks evidence that the replay does not name`);
  // Version 1 had at most one cut, as `cut`.
  if (cluster.cut !== undefined && cluster.cuts === undefined) cluster.cuts = [cluster.cut];
  delete cluster.cut;
  if (cluster.cuts !== undefined) {
    need(Array.isArray(cluster.cuts), `${where} says it was cut, but not where or what was left out`);
    let last = 0;
    for (const cut of cluster.cuts as unknown[]) {
      const ok = isObject(cut) && Number.isInteger(cut.at) && isNumber(cut.dropped) && isNumber(cut.from) && isNumber(cut.to) && Array.isArray(cut.summary);
      need(ok, `${where} says it was cut, but not where or what was left out`);
      const at = (cut as { at: number }).at;
      need(at >= last && at <= entries.length, `${where} was cut at a message it does not have`);
      last = at;
    }
  }
  return cluster as unknown as ClusterReplay;
}

/** Reads a replay file's text; throws an Error whose message tells the reader why it cannot be opened. */
export function parseReplayFile(text: string, lab: string): ReplayFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('This file is not a replay: it is not JSON. Choose a file saved with "Save this replay".');
  }
  if (!isObject(value) || value.format !== REPLAY_FORMAT) throw new Error('This file is not a Scale Lab replay. Choose a file saved with "Save this replay".');
  if (!isNumber(value.version) || value.version > REPLAY_VERSION) throw new Error('This replay was saved by a newer version of the course. Reload the page to get the newest version, then open it again.');
  if (value.lab !== lab) throw new Error(`This replay is from another lab (${String(value.lab)}). Open it in that lab.`);
  try {
    need(isObject(value.step) && isText(value.step.id) && isText(value.step.title), 'it does not say which step it is from');
    need(isText(value.message), 'it does not hold the failure message');
    const replay = value.replay;
    need(isObject(replay) && isText(replay.test), 'it does not say which test it is from');
    const r = replay as Record<string, unknown>;
    need(Array.isArray(r.evidence) && r.evidence.every((e) => isObject(e) && isText(e.label) && isNumber(e.matched)), 'its list of evidence is damaged');
    need(Array.isArray(r.clusters), 'it has no clusters');
    (r.clusters as unknown[]).forEach((c, i) => checkCluster(c, i, (r.evidence as unknown[]).length));
    if (r.omitted !== undefined) need(isText(r.omitted), 'its note is damaged');
  } catch (err) {
    if (err instanceof NotAReplay) throw new Error(`This replay is damaged and cannot be shown: ${err.message}.`);
    throw err;
  }
  return value as unknown as ReplayFile;
}

/** Reads a file the reader chose: its size first, then its text. */
export async function readReplayFile(file: File, lab: string): Promise<ReplayFile> {
  if (file.size > MAX_REPLAY_BYTES) throw new Error(`${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MB; a replay is at most ${MAX_REPLAY_BYTES / 1024 / 1024} MB, so this is not one.`);
  return parseReplayFile(await file.text(), lab);
}
