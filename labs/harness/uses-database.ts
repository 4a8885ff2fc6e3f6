/**
 * Whether a lab's cluster creates a database, so a host needs SQLite's WebAssembly to run it. Its own
 * module, away from bundle.ts: every chapter page loads that one, and only the lab runtimes need this.
 */
import type { LabBundle } from './bundle.ts';

export function usesDatabase(bundle: Pick<LabBundle, 'starter'>): boolean {
  return Object.values(bundle.starter).some((text) => /\baddDatabase\s*\(/.test(text));
}
