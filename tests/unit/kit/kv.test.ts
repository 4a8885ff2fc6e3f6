import { describe, expect, test } from 'vitest';
import { KeyValueStore } from '@scale-lab/kit';

function storeAt(time: { now: number }) {
  return new KeyValueStore(() => time.now);
}

describe('KeyValueStore (Redis semantics)', () => {
  test('GET and SET with EX, PX, NX and XX', () => {
    const time = { now: 0 };
    const kv = storeAt(time);
    expect(kv.get('a')).toBeNull();
    expect(kv.set('a', '1')).toBe('OK');
    expect(kv.set('a', '2', { nx: true })).toBeNull();
    expect(kv.get('a')).toBe('1');
    expect(kv.set('b', '1', { xx: true })).toBeNull();
    expect(kv.set('a', '3', { xx: true, ex: 10 })).toBe('OK');
    expect(kv.ttl('a')).toBe(10);
    time.now = 9_999;
    expect(kv.get('a')).toBe('3');
    time.now = 10_000;
    expect(kv.get('a')).toBeNull();
    expect(kv.ttl('a')).toBe(-2);
    kv.set('p', 'x', { px: 1500 });
    expect(kv.ttl('p')).toBe(2);
  });

  test('SET refuses non-string values and a non-positive expiry', () => {
    const kv = storeAt({ now: 0 });
    expect(() => kv.set('o', { a: 1 } as unknown as string)).toThrow(/JSON.stringify/);
    expect(() => kv.set('o', 'x', { ex: 0 })).toThrow(/invalid expire/);
  });

  test('DEL, EXISTS, INCR, EXPIRE and TTL', () => {
    const time = { now: 0 };
    const kv = storeAt(time);
    expect(kv.incr('n')).toBe(1);
    expect(kv.incr('n')).toBe(2);
    kv.set('s', 'abc');
    expect(() => kv.incr('s')).toThrow('ERR value is not an integer or out of range');
    expect(kv.ttl('n')).toBe(-1);
    expect(kv.expire('n', 5)).toBe(1);
    expect(kv.expire('missing', 5)).toBe(0);
    expect(kv.incr('n')).toBe(3);
    expect(kv.ttl('n')).toBe(5);
    expect(kv.exists(['n', 's', 'x'])).toBe(2);
    expect(kv.del(['n', 's', 'x'])).toBe(2);
    expect(kv.exists(['n', 's'])).toBe(0);
  });

  test('lists: push, pop, range, length, and WRONGTYPE', () => {
    const kv = storeAt({ now: 0 });
    expect(kv.rpush('q', ['a', 'b'])).toBe(2);
    expect(kv.lpush('q', ['z'])).toBe(3);
    expect(kv.lrange('q', 0, -1)).toEqual(['z', 'a', 'b']);
    expect(kv.lrange('q', -2, 10)).toEqual(['a', 'b']);
    expect(kv.llen('q')).toBe(3);
    expect(kv.lpop('q')).toBe('z');
    expect(kv.rpop('q')).toBe('b');
    expect(kv.rpop('q')).toBe('a');
    expect(kv.rpop('q')).toBeNull();
    expect(kv.exists(['q'])).toBe(0);
    kv.rpush('l', ['x']);
    expect(() => kv.get('l')).toThrow(/WRONGTYPE/);
  });

  test('KEYS matches glob patterns', () => {
    const kv = storeAt({ now: 0 });
    kv.set('session:1', 'a');
    kv.set('session:2', 'b');
    kv.set('product:1', 'c');
    expect(kv.keys('session:*')).toEqual(['session:1', 'session:2']);
    expect(kv.keys('*:?')).toEqual(['product:1', 'session:1', 'session:2']);
  });
});
