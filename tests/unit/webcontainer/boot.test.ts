import { describe, expect, test } from 'vitest';
import { BootTimeoutError } from '../../../src/lab-runtime/pick-runtime.ts';
import { RuntimeError } from '../../../src/lab-runtime/runtime.ts';
import { createBooter, detectCoep, type WebContainerApi } from '../../../src/lab-runtime/webcontainer/boot.ts';
import { FakeWebContainer } from './fake-webcontainer.ts';

const page = { href: 'https://course.example/chapters/01-clones/', isolated: true };

function headerFetch(coep: string | null) {
  const calls: { url: string; init: RequestInit }[] = [];
  return {
    calls,
    fetch: async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(null, { headers: coep ? { 'Cross-Origin-Embedder-Policy': coep } : {} });
    },
  };
}

/** A fake `@webcontainer/api`: each boot() is answered by the test. */
function fakeApi() {
  const log: string[] = [];
  const boots: { options: object; resolve: (wc: FakeWebContainer) => void; reject: (err: Error) => void }[] = [];
  const api: WebContainerApi = {
    configureAPIKey: (key) => void log.push(`key ${key}`),
    WebContainer: {
      boot: (options) =>
        new Promise((resolve, reject) => {
          log.push(`boot ${JSON.stringify(options)}`);
          boots.push({ options, resolve, reject });
        }),
    },
  };
  return { api, log, boots, loadApi: async () => api };
}

describe('detectCoep', () => {
  test.each([
    ['require-corp', 'require-corp'],
    ['credentialless', 'credentialless'],
    [null, 'credentialless'],
  ] as const)('the page served with COEP %s boots with %s', async (header, coep) => {
    const { fetch, calls } = headerFetch(header);
    expect(await detectCoep({ fetch, page })).toBe(coep);
    expect(calls).toEqual([{ url: page.href, init: expect.objectContaining({ method: 'HEAD' }) }]);
  });

  test('a page it cannot ask boots credentialless', async () => {
    expect(await detectCoep({ page, fetch: async () => Promise.reject(new TypeError('offline')) })).toBe('credentialless');
  });
});

describe('boot', () => {
  test('configures the key before the one boot, with the page COEP; every caller shares it', async () => {
    const fake = fakeApi();
    const booter = createBooter({ loadApi: fake.loadApi, page, fetch: headerFetch('require-corp').fetch });
    const first = booter.boot({ apiKey: 'wc_api_123' });
    const second = booter.boot({ apiKey: 'wc_api_123' });
    await new Promise((r) => setTimeout(r, 10));
    const wc = new FakeWebContainer();
    fake.boots[0]!.resolve(wc);
    expect(await first).toBe(wc);
    expect(await second).toBe(wc);
    expect(fake.log).toEqual(['key wc_api_123', 'boot {"coep":"require-corp","workdirName":"scale-lab"}']);
  });

  test('no key configured: configureAPIKey is not called', async () => {
    const fake = fakeApi();
    const booter = createBooter({ loadApi: fake.loadApi });
    const booting = booter.boot({ coep: 'credentialless' });
    await new Promise((r) => setTimeout(r, 10));
    fake.boots[0]!.resolve(new FakeWebContainer());
    await booting;
    expect(fake.log).toEqual(['boot {"coep":"credentialless","workdirName":"scale-lab"}']);
  });

  test('a boot that hangs times out; a later call waits for the same boot rather than starting another', async () => {
    const fake = fakeApi();
    const booter = createBooter({ loadApi: fake.loadApi });
    const error = await booter.boot({ coep: 'credentialless', timeoutMs: 40 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootTimeoutError);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error).toMatchObject({ reason: 'boot', seconds: 1 });

    const again = booter.boot({ timeoutMs: 1000 });
    const wc = new FakeWebContainer();
    fake.boots[0]!.resolve(wc);
    expect(await again).toBe(wc);
    expect(fake.boots).toHaveLength(1);
  });

  test('a failed boot rejects with RuntimeError boot, and can be tried again (the key set once)', async () => {
    const fake = fakeApi();
    const booter = createBooter({ loadApi: fake.loadApi });
    const first = booter.boot({ apiKey: 'k', coep: 'credentialless' });
    await new Promise((r) => setTimeout(r, 10));
    fake.boots[0]!.reject(new Error('Unable to create more instances'));
    await expect(first).rejects.toMatchObject({ name: 'RuntimeError', reason: 'boot', message: 'Unable to create more instances' });

    const second = booter.boot({ apiKey: 'k', coep: 'credentialless' });
    await new Promise((r) => setTimeout(r, 10));
    fake.boots[1]!.resolve(new FakeWebContainer());
    await second;
    expect(fake.log.filter((l) => l.startsWith('key'))).toEqual(['key k']);
  });

  test('a library that does not load is a boot failure', async () => {
    const booter = createBooter({ loadApi: async () => Promise.reject(new Error('Failed to fetch dynamically imported module')) });
    await expect(booter.boot()).rejects.toMatchObject({ reason: 'boot', message: 'Could not load the WebContainer library: Failed to fetch dynamically imported module' });
  });

  test('teardown frees the instance; the next boot starts a new one', async () => {
    const fake = fakeApi();
    const booter = createBooter({ loadApi: fake.loadApi });
    const first = booter.boot({ coep: 'credentialless' });
    await new Promise((r) => setTimeout(r, 10));
    const wc = new FakeWebContainer();
    fake.boots[0]!.resolve(wc);
    await first;
    await booter.teardown();
    expect(wc.tornDown).toBe(true);
    void booter.boot({ coep: 'credentialless' }).catch(() => {});
    await new Promise((r) => setTimeout(r, 10));
    expect(fake.boots).toHaveLength(2);
  });
});
