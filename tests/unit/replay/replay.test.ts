/**
 * The replay view's model (src/components/lab/replay/): rows that summarise repeated messages and
 * keep the cut in its place, the picture's figures at an instant, and a replay file read back with
 * plain-word reasons for what cannot be opened.
 */
import { expect, test } from 'vitest';
import type { ClusterReplay, ReplayEntry, TestReplay } from '../../../labs/harness/results.ts';
import { parseReplayFile, replayFileName, replayFileText, type ReplayFile } from '../../../src/components/lab/replay/replay-file.ts';
import { frameAt, lifelines, rowsOf, rowText } from '../../../src/components/lab/replay/timeline.ts';

const call = (at: number, from: string, to: string, extra: Partial<Extract<ReplayEntry, { kind: 'call' }>> = {}): ReplayEntry => ({ kind: 'call', at, end: at + 10, from, to, what: 'GET /', status: 200, ...extra });

function cluster(entries: ReplayEntry[], cuts?: ClusterReplay['cuts']): ClusterReplay {
  return { seed: 1, nodes: [{ name: 'app-1', kind: 'http' }, { name: 'lb', kind: 'http' }, { name: 'kv', kind: 'kv' }], clients: [{ name: 'client' }], entries, ...(cuts ? { cuts } : {}) };
}

test('a block of messages repeated in a row becomes one row that says how many times; evidence keeps its own rows', () => {
  const entries: ReplayEntry[] = [];
  for (let i = 0; i < 50; i++) entries.push(call(i * 20, 'lb', 'app-1'), call(i * 20, 'client', 'lb'));
  entries.push({ kind: 'state', at: 1000, node: 'app-1', state: 'killed' });
  for (let i = 0; i < 5; i++) entries.push(call(1000 + i, 'client', 'lb', { status: 502, evidence: [0] }));
  const rows = rowsOf(cluster(entries));
  expect(rows.map((r) => (r.kind === 'entries' ? [r.entries.length, r.times] : 'cut'))).toEqual([[2, 50], [1, 1], [1, 5]]);
  expect(rowText(rows[0]!, ['failed'])).toBe('0.000 s to 0.990 s: 50 times: lb → app-1: GET /, answered 200 after 10 ms; then client → lb: GET /, answered 200 after 10 ms');
  expect(rowText(rows[2]!, ['requests that failed'])).toMatch(/5 times: client → lb: GET \/, answered 502 .*\. Evidence: requests that failed$/);
});

test('the cut stays where it was, saying what it left out', () => {
  const entries = [call(0, 'client', 'lb'), call(5000, 'client', 'lb', { status: 500 })];
  const rows = rowsOf(cluster(entries, [{ at: 1, dropped: 840, from: 10, to: 4990, summary: [{ what: 'client → lb GET /', count: 840 }] }]));
  expect(rows.map((r) => r.kind)).toEqual(['entries', 'cut', 'entries']);
  expect(rowText(rows[1]!, [])).toBe('0.010 s to 4.990 s: 840 messages left out to keep the replay small (client → lb GET / × 840)');
});

test('evidence kept from what was left out sits between the cuts around it', () => {
  const summary = [{ what: 'client → lb GET /', count: 1 }];
  const entries = [call(0, 'client', 'lb'), call(2000, 'lb', 'app-1', { evidence: [0] }), call(2100, 'lb', 'app-1', { evidence: [0] }), call(5000, 'client', 'lb')];
  const c = cluster(entries, [{ at: 1, dropped: 3412, from: 10, to: 1990, summary }, { at: 3, dropped: 1200, from: 2110, to: 4990, summary }]);
  const rows = rowsOf(c);
  expect(rows.map((r) => r.kind)).toEqual(['entries', 'cut', 'entries', 'entries', 'cut', 'entries']);
  expect(rowText(rows[1]!, [])).toMatch(/^0\.010 s to 1\.990 s: 3,412 messages left out/);
  expect(rowText(rows[2]!, ['the requests'])).toMatch(/lb → app-1: GET \/.*Evidence: the requests$/);
  expect(rowText(rows[4]!, [])).toMatch(/^2\.110 s to 4\.990 s: 1,200 messages left out/);
  // Saved and read back as it was; cuts out of order are refused.
  const saved: ReplayFile = { ...file, replay: { ...replay, clusters: [c] } };
  expect(parseReplayFile(replayFileText(saved), '01-clones')).toEqual(saved);
  const swapped = structuredClone(saved);
  swapped.replay.clusters[0]!.cuts!.reverse();
  expect(() => parseReplayFile(replayFileText(swapped), '01-clones')).toThrow(/was cut at a message it does not have/);
});

test('a call that got no answer says so, how long it waited, and reads back from a file', () => {
  const open = call(1000, 'lb', 'app-1', { status: undefined, end: 31_000, unanswered: true, evidence: [0] });
  const c = cluster([call(0, 'client', 'lb'), open]);
  const rows = rowsOf(c);
  expect(rowText(rows[1]!, ['the request that hung'])).toBe('1.000 s to 31.000 s: lb → app-1: GET /, no answer by 30,000 ms, when the test ended. Evidence: the request that hung');
  expect(frameAt(c, rows, 1).nodes.find((n) => n.name === 'app-1')).toMatchObject({ inFlight: 1, errors: 0 });
  const saved: ReplayFile = { ...file, replay: { ...replay, clusters: [c] } };
  expect(parseReplayFile(replayFileText(saved), '01-clones')).toEqual(JSON.parse(replayFileText(saved)));
});

test('a replay saved before cuts could be split (version 1, one `cut`) still opens, its cut in its place', () => {
  const entries = [call(0, 'client', 'lb'), call(5000, 'client', 'lb', { status: 500, evidence: [0] })];
  const cut = { at: 1, dropped: 840, from: 10, to: 4990, summary: [{ what: 'client → lb GET /', count: 840 }] };
  const old = { ...file, version: 1, replay: { ...replay, clusters: [{ ...cluster(entries), cut }] } };
  const opened = parseReplayFile(JSON.stringify(old), '01-clones');
  expect(opened.replay.clusters[0]).toEqual(cluster(entries, [cut]));
  expect(rowsOf(opened.replay.clusters[0]!).map((r) => r.kind)).toEqual(['entries', 'cut', 'entries']);
});

test('lifelines follow the calls, and the picture at an instant counts the last second of calls and the states so far', () => {
  const c = cluster([call(0, 'client', 'lb'), call(0, 'lb', 'app-1'), { kind: 'op', at: 5, from: 'app-1', to: 'kv', what: 'GET s:1 (miss)' }, { kind: 'state', at: 2000, node: 'app-1', state: 'killed' }, call(2500, 'client', 'lb', { status: 502 })]);
  expect(lifelines(c, 'lb')).toEqual(['client', 'lb', 'app-1', 'kv']);
  const rows = rowsOf(c);
  const early = frameAt(c, rows, 2);
  expect(early.nodes.find((n) => n.name === 'kv')).toMatchObject({ rps: 1, hitRatio: 0, state: 'up' });
  expect(early.links).toEqual(expect.arrayContaining([{ from: 'client', to: 'lb', calls: 1, failures: 0 }]));
  const late = frameAt(c, rows, rows.length - 1);
  expect(late.nodes.find((n) => n.name === 'app-1')).toMatchObject({ state: 'killed', rps: 0 });
  expect(late.nodes.find((n) => n.name === 'lb')).toMatchObject({ rps: 1, errors: 1 });
});

test("queue operations fold like other operations, and a cache's answers are notes on its own line", () => {
  const entries: ReplayEntry[] = [];
  for (let i = 0; i < 4; i++) entries.push({ kind: 'op', at: i, from: 'app-1', to: 'jobs', what: `send jobs-${i + 1}` });
  for (let i = 0; i < 3; i++) entries.push({ kind: 'note', at: 10 + i, node: 'browser-1', text: `cache hit /item/${i}` });
  entries.push({ kind: 'note', at: 20, node: 'jobs', text: 'send jobs-9', evidence: [0] });
  const c = cluster(entries);
  const rows = rowsOf(c);
  expect(rows.map((r) => (r.kind === 'entries' ? [r.entries.length, r.times] : 'cut'))).toEqual([[1, 4], [1, 3], [1, 1]]);
  expect(rowText(rows[0]!, [])).toBe('0.000 s to 0.003 s: 4 times: app-1 → jobs: send jobs-1');
  expect(rowText(rows[1]!, [])).toBe('0.010 s to 0.012 s: 3 times: browser-1: cache hit /item/0');
  expect(rowText(rows[2]!, ['the message a test put there'])).toBe('0.020 s: jobs: send jobs-9. Evidence: the message a test put there');
  expect(lifelines(c, 'lb')).toEqual(expect.arrayContaining(['app-1', 'browser-1']));
  const withNote: ReplayFile = { ...file, replay: { ...replay, clusters: [c], evidence: [{ label: 'the message', matched: 1 }] } };
  expect(parseReplayFile(replayFileText(withNote), '01-clones')).toEqual(withNote);
});

const replay: TestReplay = { test: 'split 300 requests', clusters: [cluster([call(0, 'client', 'lb', { evidence: [0] })])], evidence: [{ label: 'the requests', matched: 1 }] };
const file: ReplayFile = { format: 'scale-lab-replay', version: 2, lab: '01-clones', step: { id: 'round-robin', title: 'Round robin' }, message: 'expected 100, received 300', replay };

test('a saved replay reads back as it was, under a name that says what it is', () => {
  expect(parseReplayFile(replayFileText(file), '01-clones')).toEqual(file);
  expect(replayFileName(file)).toBe('replay-01-clones-round-robin-split-300-requests.json');
});

test('what is not a replay of this lab is refused in plain words', () => {
  const text = (value: unknown) => JSON.stringify(value);
  expect(() => parseReplayFile('PK\u0003\u0004', '01-clones')).toThrow('This file is not a replay: it is not JSON.');
  expect(() => parseReplayFile(text({ files: {} }), '01-clones')).toThrow('This file is not a Scale Lab replay.');
  expect(() => parseReplayFile(text({ ...file, version: 9 }), '01-clones')).toThrow(/saved by a newer version of the course/);
  expect(() => parseReplayFile(text(file), '03-caching')).toThrow('This replay is from another lab (01-clones). Open it in that lab.');
  const damaged = (change: (f: any) => void) => {
    const copy = structuredClone(file) as any;
    change(copy);
    return () => parseReplayFile(text(copy), '01-clones');
  };
  expect(damaged((f) => (f.replay.clusters[0].entries[0].kind = 'teleport'))).toThrow('This replay is damaged and cannot be shown: message 1 of cluster 1 is of a kind a replay does not have ("teleport").');
  expect(damaged((f) => delete f.replay.clusters[0].entries[0].status)).toThrow(/is a call with neither an answer nor a failure/);
  expect(damaged((f) => (f.replay.clusters[0].entries[0].evidence = [3]))).toThrow(/marks evidence that the replay does not name/);
  expect(damaged((f) => (f.replay.clusters[0].cuts = [{ at: 9, dropped: 1, from: 0, to: 1, summary: [] }]))).toThrow(/was cut at a message it does not have/);
  expect(damaged((f) => (f.replay.clusters[0].cut = { at: 9, dropped: 1, from: 0, to: 1, summary: [] }))).toThrow(/was cut at a message it does not have/);
});
