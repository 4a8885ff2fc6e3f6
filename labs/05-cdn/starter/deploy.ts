// Deploying a release, and rolling back. The tests call deploy(build, site) with a new build while
// readers keep reading, then rollback(site). See SiteAdmin in site.ts for what you may do; each
// upload and purge takes time.
import type { Build, SiteAdmin } from './site.ts';

export async function deploy(build: Build, site: SiteAdmin): Promise<void> {
  const assets: Record<string, string> = {};
  for (const [name, content] of Object.entries(build.files)) {
    const path = `/assets/${name}`;
    await site.upload(path, content);
    assets[name] = path;
  }
  await site.publish({ version: build.version, assets });
  await site.purgeAll();
}

/** Goes back to the release that was live before the current one. */
export async function rollback(site: SiteAdmin): Promise<void> {
  const previous = site.history().at(-2);
  if (!previous) throw new Error('there is no previous release to go back to');
  await site.publish(previous);
  await site.purgeAll();
}
