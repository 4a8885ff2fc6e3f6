import { describe, expect, test } from 'vitest';
import { VirtualClock, settle } from '@scale-lab/kit';

describe('VirtualClock', () => {
  test('time moves only when advanced, and timers fire in due order', async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('c@20'), 20);
    expect(clock.now()).toBe(0);
    await clock.advance(15);
    expect(fired).toEqual(['a@10']);
    expect(clock.now()).toBe(15);
    await clock.advance(5);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
  });

  test('pending promises settle before time moves', async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const chain = async () => {
      for (let i = 0; i < 50; i++) await Promise.resolve();
      seen.push(clock.now());
      await clock.sleep(5);
      seen.push(clock.now());
    };
    void chain();
    await clock.advance(10);
    expect(seen).toEqual([0, 5]);
  });

  test('intervals repeat and stop; cancelled timers never fire', async () => {
    const clock = new VirtualClock();
    let ticks = 0;
    const stop = clock.setInterval(() => ticks++, 100);
    const cancel = clock.setTimeout(() => ticks += 1000, 50);
    cancel();
    await clock.advance(350);
    expect(ticks).toBe(3);
    stop();
    await clock.advance(1000);
    expect(ticks).toBe(3);
  });

  test('sleep rejects with the reason of an aborted signal', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const slept = clock.sleep(100, controller.signal);
    controller.abort(new Error('gave up'));
    await expect(slept).rejects.toThrow('gave up');
  });
});

describe('settle() where there is no setImmediate (a browser Worker)', () => {
  test('waits a macrotask: microtask chains finish first, and concurrent waits end in the order they began', async () => {
    const g = globalThis as { setImmediate?: unknown };
    const saved = g.setImmediate;
    g.setImmediate = undefined;
    try {
      let chained = 0;
      void (async () => {
        for (let i = 0; i < 100; i++) await Promise.resolve(), chained++;
      })();
      const ended: number[] = [];
      await Promise.all([0, 1, 2, 3, 4].map((i) => settle().then(() => ended.push(i))));
      expect(chained).toBe(100);
      expect(ended).toEqual([0, 1, 2, 3, 4]);
      // The channel is kept between calls; later waits still end.
      for (let i = 0; i < 1000; i++) await settle();
    } finally {
      g.setImmediate = saved;
    }
  });
});
