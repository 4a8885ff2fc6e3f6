import { expect, test } from 'vitest';
import { MAX_TIMERS_PER_INSTANT, VirtualClock } from '../../../labs/kit/clock.ts';

test('a loop that awaits sleep(0) forever is stopped at once, with a message naming the loop', async () => {
  const clock = new VirtualClock();
  let spins = 0;
  const loop = async () => {
    for (;;) {
      spins++;
      await clock.sleep(0);
    }
  };
  const line = new Error().stack!.split('\n')[1]!.match(/:(\d+):\d+/)![1]!;
  void loop();
  const started = performance.now();
  const error = await clock.advance(1000).then(() => undefined, (err: Error) => err);
  expect(error?.message).toMatch(/^More than 10,000 timers fired at 0 ms of cluster time without time moving on: a loop like for \(;;\) await ctx\.sleep\(0\) never lets the clock advance \(the loop is at clock-guard\.test\.ts:\d+\)/);
  // The loop is the lines just above `line`.
  expect(Number(/clock-guard\.test\.ts:(\d+)/.exec(error!.message)![1])).toBeLessThan(Number(line));
  expect(spins).toBe(MAX_TIMERS_PER_INSTANT + 1);
  expect(performance.now() - started).toBeLessThan(5000);
  // The clock stays stopped: the same verdict however often it is driven again.
  expect(() => clock.fireNext()).toThrow(error!.message);
});

test('the count starts again when time moves: 6,000 timers at each of three instants are fine', async () => {
  const clock = new VirtualClock();
  let spins = 0;
  const work = async () => {
    for (let instant = 0; instant < 3; instant++) {
      for (let i = 0; i < 6_000; i++, spins++) await clock.sleep(0);
      await clock.sleep(10);
    }
  };
  const done = work();
  await clock.advance(30);
  await done;
  expect(spins).toBe(3 * 6_000);
});
