import { expect, test } from 'vitest';
import { evidence, seededRandom } from '@scale-lab/kit';
import { summarize } from '../starter/measure.ts';
import { runLoad, type Interval, type Run } from '../starter/run.ts';
import { oneServerCluster } from './helpers.ts';

type Level = 'p50' | 'p95' | 'p99';
const LEVELS: [Level, number][] = [['p50', 50], ['p95', 95], ['p99', 99]];

const byNumber = (a: number, b: number) => a - b;
/** A latency as the message shows it: to a tenth of a ms. */
const ms = (v: unknown) => (typeof v === 'number' ? `${Math.round(v * 10) / 10} ms` : `${String(v)} (not a number)`);
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
/** The 1-based nearest rank of percentile `p` among `n` samples. */
const rankOf = (n: number, p: number) => Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));

/** The usual wrong answers, as the value each would give: used to name the mistake in the message. */
function wrongAnswers(run: Run, all: number[], level: Level, p: number): [number, string][] {
  const at = (list: number[]) => list[rankOf(list.length, p) - 1]!;
  return [
    [mean(all), 'that is the mean latency, not a percentile: a few slow requests pull the mean far above the typical one'],
    [mean(run.intervals.map((i) => i[level])), `that is the average of the slices' own ${level}s; percentiles do not average, so pool every slice's raw latencies and rank them once`],
    [at([...all].sort()), 'that is what sorting the latencies as strings gives ("100" comes before "9"); sort numbers with (a, b) => a - b'],
    [at(all), 'that is the sample at that position in the order the answers came, without sorting them first'],
  ];
}

/** Checks p50, p95 and p99 against the run's raw samples, each within one rank of the nearest-rank value. */
function expectHonest(run: Run, what: string): void {
  const all = run.intervals.flatMap((i) => i.latencies);
  const sorted = [...all].sort(byNumber);
  const got = summarize(run);
  for (const [level, p] of LEVELS) {
    const rank = rankOf(sorted.length, p);
    const low = sorted[Math.max(1, rank - 1) - 1]!;
    const high = sorted[Math.min(sorted.length, rank + 1) - 1]!;
    const value = got?.[level];
    if (typeof value === 'number' && value >= low && value <= high) continue;
    const named = wrongAnswers(run, all, level, p).find(([wrong]) => typeof value === 'number' && Math.abs(wrong - value) < 1e-9 && (wrong < low || wrong > high));
    const faster = sorted.filter((l) => typeof value === 'number' && l <= value).length;
    const share = ((100 * faster) / sorted.length).toFixed(1);
    expect.fail(
      `${what}: your ${level} is ${ms(value)}, but ${share} % of its ${sorted.length} requests took that long or less; ` +
        `${p} % of them took ${ms(sorted[rank - 1])} or less` +
        (named ? `. ${named[1]}` : `: rank the run's raw latencies, all slices together, and take the value at rank ceil(${p / 100} × n)`),
    );
  }
}

test('p50, p95 and p99 of a real load run with a burst, from its raw samples', async () => {
  const cluster = oneServerCluster({ cores: 2, work: { distribution: 'exponential', mean: 20 } });
  // Steady at 60 % of the server's 100 requests per second, then 3 s above it, then calm again.
  const run = await runLoad(cluster, { rate: { steps: [{ at: 0, rate: 60 }, { at: 6_000, rate: 115 }, { at: 9_000, rate: 40 }] }, duration: 12_000 });
  evidence('the requests of the 12-second run, whose latencies your percentiles rank', (e) => e.type === 'request' && e.node === 'app' && e.from === 'client');
  expectHonest(run, 'a 12-second run whose burst queued requests in a few slices');
});

test('slices of very different sizes: a quiet night and a busy minute', () => {
  const random = seededRandom(7);
  const slice = (k: number, n: number, spread: number, floor: number): Interval => {
    const latencies = Array.from({ length: n }, () => Math.round((floor + spread * -Math.log(1 - random())) * 10) / 10);
    const sorted = [...latencies].sort(byNumber);
    const at = (p: number) => sorted[rankOf(n, p) - 1]!;
    return { start: k * 60_000, end: (k + 1) * 60_000, rate: n / 60, latencies, p50: at(50), p95: at(95), p99: at(99) };
  };
  // Ten quiet minutes of fast answers, one busy minute of slow ones (from 9 ms to several seconds).
  const intervals = Array.from({ length: 11 }, (_, k) => (k === 7 ? slice(k, 2400, 600, 80) : slice(k, 40, 6, 3)));
  expectHonest({ intervals }, 'a run of eleven one-minute slices, one of them busy');
});
