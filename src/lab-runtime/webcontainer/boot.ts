/**
 * Boots the page's one WebContainer, on demand. The API allows a single instance per page, so every
 * caller shares one boot; a failed boot can be tried again, a slow one is waited for again rather
 * than started twice. A boot that hangs (third-party storage blocked) ends in a BootTimeoutError.
 */
import { BootTimeoutError, DEFAULT_BOOT_TIMEOUT_MS } from '../pick-runtime.ts';
import { RuntimeError } from '../runtime.ts';
import type { WebContainerLike } from './types.ts';

export type Coep = 'require-corp' | 'credentialless';

/** The part of `@webcontainer/api`'s exports used here. */
export interface WebContainerApi {
  WebContainer: { boot(options: { coep?: Coep; workdirName?: string }): Promise<WebContainerLike> };
  configureAPIKey(key: string): void;
}

export interface BootOptions {
  /** StackBlitz API key; needed on origins other than localhost. */
  apiKey?: string;
  /** Reject after this long (default 20 s). The boot itself goes on and a later call can still get it. */
  timeoutMs?: number;
  /** The page's Cross-Origin-Embedder-Policy; read from the page's own response headers when absent. */
  coep?: Coep;
}

export interface BootDependencies {
  /** Loads the API module (default: `import('@webcontainer/api')`, so pages without a lab never load it). */
  loadApi?: () => Promise<WebContainerApi>;
  /** Used to read the page's COEP header. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** The page's address and isolation (default: from globalThis). */
  page?: { href: string; isolated: boolean };
}

/**
 * WebContainer must be told the COEP the page was served with (fixed at first boot). A page is only
 * cross-origin isolated with `require-corp` or `credentialless`; ask the server which, with a HEAD
 * request for the page itself. `credentialless` is what a page that cannot tell should use: it is
 * the mode that works without every subresource sending CORP headers.
 */
export async function detectCoep(deps: Pick<BootDependencies, 'fetch' | 'page'> = {}): Promise<Coep> {
  const page = deps.page ?? { href: globalThis.location?.href ?? '', isolated: globalThis.crossOriginIsolated === true };
  const fetchFn = deps.fetch ?? ((url, init) => globalThis.fetch(url, init));
  if (page.href) {
    try {
      const response = await fetchFn(page.href, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin' });
      const header = response.headers.get('cross-origin-embedder-policy')?.toLowerCase() ?? '';
      if (header.includes('credentialless')) return 'credentialless';
      if (header.includes('require-corp')) return 'require-corp';
    } catch {
      // Offline or refused: fall through.
    }
  }
  return 'credentialless';
}

/** A boot function with its own state; the page uses the module's one instance, `bootWebContainer`. */
export function createBooter(deps: BootDependencies = {}) {
  let instance: Promise<WebContainerLike> | undefined;
  let keyConfigured = false;
  const loadApi = deps.loadApi ?? (() => import('@webcontainer/api') as Promise<WebContainerApi>);

  async function start(options: BootOptions): Promise<WebContainerLike> {
    let api: WebContainerApi;
    try {
      api = await loadApi();
    } catch (err) {
      throw new RuntimeError(`Could not load the WebContainer library: ${err instanceof Error ? err.message : String(err)}`, 'boot');
    }
    // The key must be set before the first boot, and only once.
    if (options.apiKey && !keyConfigured) {
      api.configureAPIKey(options.apiKey);
      keyConfigured = true;
    }
    const coep = options.coep ?? (await detectCoep(deps));
    try {
      return await api.WebContainer.boot({ coep, workdirName: 'scale-lab' });
    } catch (err) {
      throw new RuntimeError(err instanceof Error ? err.message : String(err), 'boot');
    }
  }

  return {
    /** The page's WebContainer, booting it on first call. Rejects with RuntimeError('boot'), or BootTimeoutError. */
    boot(options: BootOptions = {}): Promise<WebContainerLike> {
      if (!instance) {
        const booting = start(options);
        instance = booting;
        booting.catch(() => {
          if (instance === booting) instance = undefined;
        });
      }
      const timeoutMs = options.timeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;
      const current = instance;
      return new Promise<WebContainerLike>((resolve, reject) => {
        const timer = setTimeout(() => reject(new BootTimeoutError(Math.ceil(timeoutMs / 1000))), timeoutMs);
        current.then(
          (wc) => {
            clearTimeout(timer);
            resolve(wc);
          },
          (err: unknown) => {
            clearTimeout(timer);
            reject(err);
          },
        );
      });
    },
    /** Frees the instance (every process and file in it); the next `boot` starts a new one. */
    async teardown(): Promise<void> {
      const current = instance;
      instance = undefined;
      if (!current) return;
      try {
        (await current).teardown();
      } catch {
        // It never booted: nothing to free.
      }
    },
  };
}

const pageBooter = createBooter();

/** Boots the page's one WebContainer (or returns it). */
export const bootWebContainer = pageBooter.boot;
/** Tears the page's WebContainer down; a later `bootWebContainer` boots a new one. */
export const teardownWebContainer = pageBooter.teardown;

// The real API must fit the interfaces the runtime is written against.
type Api = typeof import('@webcontainer/api');
export type ApiFits = Api extends WebContainerApi ? true : never;
const apiFits: ApiFits = true;
void apiFits;
