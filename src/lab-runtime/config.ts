/**
 * How the site owner chooses where readers' code runs, from the environment at build time:
 *
 * - `PUBLIC_LAB_RUNTIME`: `auto` (default: the browser Worker at once, and WebContainer, booted in
 *   the background where the page can host it, from the next run once it has started), `worker`, or
 *   `webcontainer` (wait for WebContainer, even where `auto` would not try it; still falls back).
 * - `PUBLIC_WEBCONTAINER_API_KEY`: the StackBlitz key WebContainer needs on any origin other than
 *   localhost. Public by nature: it ends up in the page.
 */

export const RUNTIME_POLICIES = ['auto', 'worker', 'webcontainer'] as const;
export type RuntimePolicy = (typeof RUNTIME_POLICIES)[number];

export interface LabRuntimeConfig {
  policy: RuntimePolicy;
  apiKey?: string;
}

export class LabRuntimeConfigError extends Error {
  override name = 'LabRuntimeConfigError';
}

function isPolicy(value: string): value is RuntimePolicy {
  return (RUNTIME_POLICIES as readonly string[]).includes(value);
}

/** Checks the variables; an unknown policy throws, naming the variable and the allowed values. */
export function parseLabRuntimeConfig(env: Record<string, unknown>): LabRuntimeConfig {
  const rawPolicy = env.PUBLIC_LAB_RUNTIME;
  const policyText = typeof rawPolicy === 'string' ? rawPolicy.trim().toLowerCase() : rawPolicy === undefined ? '' : String(rawPolicy);
  if (policyText !== '' && !isPolicy(policyText)) {
    throw new LabRuntimeConfigError(
      `PUBLIC_LAB_RUNTIME is "${String(rawPolicy)}", which is not a lab runtime: use one of ${RUNTIME_POLICIES.join(', ')} (or leave it unset for auto).`,
    );
  }
  const rawKey = env.PUBLIC_WEBCONTAINER_API_KEY;
  if (rawKey !== undefined && typeof rawKey !== 'string') {
    throw new LabRuntimeConfigError(`PUBLIC_WEBCONTAINER_API_KEY must be a string (the StackBlitz API key), got ${typeof rawKey}.`);
  }
  const apiKey = rawKey?.trim();
  return { policy: policyText === '' ? 'auto' : (policyText as RuntimePolicy), ...(apiKey ? { apiKey } : {}) };
}

/**
 * The site's configuration. Throws on a wrong value: at build time when imported from an .astro
 * component's frontmatter, otherwise in the page's console.
 */
export function labRuntimeConfig(): LabRuntimeConfig {
  return parseLabRuntimeConfig({
    PUBLIC_LAB_RUNTIME: import.meta.env.PUBLIC_LAB_RUNTIME,
    PUBLIC_WEBCONTAINER_API_KEY: import.meta.env.PUBLIC_WEBCONTAINER_API_KEY,
  });
}

/** The same, under the name the Lab UI uses. */
export const runtimeConfig = labRuntimeConfig;

/** `?runtime=worker|webcontainer|auto` in the page's address overrides the policy (for checks and support). */
export function policyFromUrl(search: string, fallback: RuntimePolicy): RuntimePolicy {
  const value = new URLSearchParams(search).get('runtime')?.trim().toLowerCase();
  return value && isPolicy(value) ? value : fallback;
}
