import { describe, expect, test } from 'vitest';
import { BootTimeoutError, isLocalOrigin, pickRuntime, RUNTIME_NOTICES, type PickRuntimeOptions } from '../../../src/lab-runtime/pick-runtime.ts';
import { RuntimeError, type LabRuntime } from '../../../src/lab-runtime/runtime.ts';
import { createBooter, type WebContainerApi } from '../../../src/lab-runtime/webcontainer/boot.ts';
import { WebContainerRuntime } from '../../../src/lab-runtime/webcontainer/webcontainer-runtime.ts';
import { FakeWebContainer } from './fake-webcontainer.ts';

function stubRuntime(kind: LabRuntime['kind']): LabRuntime & { disposed: boolean } {
  return {
    kind,
    disposed: false,
    mount: async () => {},
    update: async () => {},
    runTests: async () => ({ lab: 'x', steps: [] }),
    dispose() {
      this.disposed = true;
    },
  };
}

function setup(overrides: Partial<PickRuntimeOptions> & { boot?: () => Promise<LabRuntime> } = {}) {
  const calls = { worker: 0, webcontainer: 0 };
  const worker = stubRuntime('worker');
  const webcontainer = stubRuntime('webcontainer');
  const options: PickRuntimeOptions = {
    policy: 'auto',
    isolated: true,
    origin: 'http://localhost:4321',
    createWorker: () => {
      calls.worker++;
      return worker;
    },
    createWebContainer: () => {
      calls.webcontainer++;
      return overrides.boot ? overrides.boot() : Promise.resolve(webcontainer);
    },
    ...overrides,
  };
  return { options, calls, worker, webcontainer };
}

test('the sentences say where the code runs, why, and that the lab still works', () => {
  expect(RUNTIME_NOTICES.notIsolated).toBe(
    'Running your code in this browser tab (WebContainer could not start: this page is not cross-origin isolated, so real Node is unavailable; everything in the lab still works).',
  );
  expect(RUNTIME_NOTICES.bootTimeout(20)).toBe(
    'Running your code in this browser tab (WebContainer did not start within 20 s: a blocked third-party storage setting or a network that blocks StackBlitz can cause this; everything in the lab still works).',
  );
  expect(RUNTIME_NOTICES.needsApiKey).toBe(
    'Running your code in this browser tab (WebContainer needs a StackBlitz API key on this domain and none is configured, so real Node is unavailable; everything in the lab still works).',
  );
  expect(RUNTIME_NOTICES.bootFailed('Unable to create more instances.')).toBe(
    'Running your code in this browser tab (WebContainer could not start: Unable to create more instances; everything in the lab still works).',
  );
});

test.each([
  ['http://localhost:4321', true],
  ['http://127.0.0.1:4321', true],
  ['http://[::1]:4321', true],
  ['http://course.localhost', true],
  ['https://scale-lab.example', false],
  ['https://localhost.example', false],
  ['not a url', false],
])('%s is local: %s', (origin, local) => {
  expect(isLocalOrigin(origin)).toBe(local);
});

describe('policy worker', () => {
  test('never boots WebContainer', async () => {
    const { options, calls, worker } = setup({ policy: 'worker' });
    expect(await pickRuntime(options)).toEqual({ runtime: worker });
    expect(calls).toEqual({ worker: 1, webcontainer: 0 });
  });
});

describe('policy auto', () => {
  test('isolated localhost page: the Worker at once, no notice, WebContainer booted only when asked, in the background', async () => {
    const { options, calls, worker, webcontainer } = setup();
    const picked = await pickRuntime(options);
    expect(picked.runtime).toBe(worker);
    expect(picked.notice).toBeUndefined();
    expect(calls).toEqual({ worker: 1, webcontainer: 0 });
    expect(await picked.bootInBackground!()).toBe(webcontainer);
    expect(calls.webcontainer).toBe(1);
  });

  test('opening does not wait on a boot that never settles', async () => {
    const { options, worker } = setup({ boot: () => new Promise(() => {}) });
    const picked = await pickRuntime(options);
    expect(picked.runtime).toBe(worker);
  });

  test('isolated page on a domain with an API key: WebContainer in the background', async () => {
    const { options, webcontainer } = setup({ origin: 'https://scale-lab.example', apiKey: 'wc_api_1' });
    expect(await (await pickRuntime(options)).bootInBackground!()).toBe(webcontainer);
  });

  test('page not isolated: the Worker, without trying to boot, and the sentence why', async () => {
    const { options, calls, worker } = setup({ isolated: false });
    expect(await pickRuntime(options)).toEqual({ runtime: worker, notice: RUNTIME_NOTICES.notIsolated });
    expect(calls.webcontainer).toBe(0);
  });

  test('a domain without an API key: the Worker, without trying to boot', async () => {
    const { options, calls, worker } = setup({ origin: 'https://scale-lab.example' });
    expect(await pickRuntime(options)).toEqual({ runtime: worker, notice: RUNTIME_NOTICES.needsApiKey });
    expect(calls.webcontainer).toBe(0);
  });

  test('a background boot that fails or times out costs nothing: undefined, no notice', async () => {
    for (const boot of [() => Promise.reject(new RuntimeError('Unable to create more instances', 'boot')), () => Promise.reject(new BootTimeoutError(20))]) {
      const { options, worker } = setup({ boot });
      const picked = await pickRuntime(options);
      expect(picked.runtime).toBe(worker);
      expect(picked.notice).toBeUndefined();
      expect(await picked.bootInBackground!()).toBeUndefined();
    }
  });

  test('a background boot that never settles is given up after bootTimeoutMs; if it starts later it is disposed', async () => {
    let finish!: (runtime: LabRuntime) => void;
    const late = stubRuntime('webcontainer');
    const { options } = setup({ boot: () => new Promise((resolve) => (finish = resolve)), bootTimeoutMs: 30 });
    expect(await (await pickRuntime(options)).bootInBackground!()).toBeUndefined();
    finish(late);
    await new Promise((r) => setTimeout(r, 0));
    expect(late.disposed).toBe(true);
  });
});

describe('policy webcontainer', () => {
  test('tries to boot even on a page auto would not try, and falls back with the reason', async () => {
    const { options, calls, worker } = setup({ policy: 'webcontainer', isolated: false, boot: () => Promise.reject(new RuntimeError('SharedArrayBuffer is not defined', 'boot')) });
    expect(await pickRuntime(options)).toEqual({ runtime: worker, notice: RUNTIME_NOTICES.notIsolated });
    expect(calls).toEqual({ worker: 1, webcontainer: 1 });
  });

  test('on a domain without a key, a failed boot says a key is needed', async () => {
    const { options, worker } = setup({ policy: 'webcontainer', origin: 'https://scale-lab.example', boot: () => Promise.reject(new Error('Unauthorized')) });
    expect(await pickRuntime(options)).toEqual({ runtime: worker, notice: RUNTIME_NOTICES.needsApiKey });
  });

  test('boots when it can', async () => {
    const { options, webcontainer } = setup({ policy: 'webcontainer', origin: 'https://scale-lab.example' });
    expect(await pickRuntime(options)).toEqual({ runtime: webcontainer });
  });
});

describe('with the real boot and runtime over a fake WebContainer API', () => {
  function api(boot: () => Promise<FakeWebContainer>): WebContainerApi {
    return { configureAPIKey: () => {}, WebContainer: { boot } };
  }
  const create = (booter: ReturnType<typeof createBooter>) => async () => {
    const runtime = new WebContainerRuntime({ assetsBase: '/lab-assets/', boot: () => booter.boot({ coep: 'require-corp', timeoutMs: 40 }) });
    await runtime.ready();
    return runtime;
  };

  test('a boot that hangs (third-party storage blocked) falls back to the Worker with the timeout sentence', async () => {
    const booter = createBooter({ loadApi: async () => api(() => new Promise(() => {})) });
    const { options, worker } = setup({ policy: 'webcontainer', boot: create(booter) });
    const picked = await pickRuntime(options);
    expect(picked.runtime).toBe(worker);
    expect(picked.notice).toBe(RUNTIME_NOTICES.bootTimeout(1));
  });

  test('a boot that fails falls back to the Worker with its reason', async () => {
    const booter = createBooter({ loadApi: async () => api(() => Promise.reject(new Error('Failed to load the WebContainer iframe'))) });
    const { options, worker } = setup({ policy: 'webcontainer', boot: create(booter) });
    expect(await pickRuntime(options)).toEqual({ runtime: worker, notice: RUNTIME_NOTICES.bootFailed('failed to load the WebContainer iframe') });
  });

  test('a boot that works gives the WebContainer runtime', async () => {
    const booter = createBooter({ loadApi: async () => api(async () => new FakeWebContainer()) });
    const { options } = setup({ policy: 'webcontainer', boot: create(booter) });
    const picked = await pickRuntime(options);
    expect(picked.runtime).toBeInstanceOf(WebContainerRuntime);
    expect(picked.runtime.kind).toBe('webcontainer');
    expect(picked.notice).toBeUndefined();
  });

  test('under auto, the same boot in the background gives the WebContainer runtime, and a hanging one gives nothing', async () => {
    const works = setup({ boot: create(createBooter({ loadApi: async () => api(async () => new FakeWebContainer()) })) });
    expect(await (await pickRuntime(works.options)).bootInBackground!()).toBeInstanceOf(WebContainerRuntime);
    const hangs = setup({ boot: create(createBooter({ loadApi: async () => api(() => new Promise(() => {})) })) });
    expect(await (await pickRuntime(hangs.options)).bootInBackground!()).toBeUndefined();
  });
});
