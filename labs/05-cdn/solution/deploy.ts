// Deploying a release, and rolling back. The tests call deploy(build, site) with a new build while
// readers keep reading, then rollback(site). See SiteAdmin in site.ts for what you may do; each
// upload and purge takes time.
import { fingerprint, type Build, type SiteAdmin } from './site.ts';

export async function deploy(build: Build, site: SiteAdmin): Promise<void> {
  // Each file under a name of its own: new content, new URL, so no cache anywhere can hold an old
  // copy of it. A file that did not change keeps its name, and every cache keeps its copy.
  const assets: Record<string, string> = {};
  for (const [name, content] of Object.entries(build.files)) {
    const path = `/assets/${fingerprint(name, content)}`;
    if (!site.list().includes(path)) await site.upload(path, content);
    assets[name] = path;
  }
  // Only once every file exists may the HTML point to them. The previous releases' files stay:
  // readers still holding their HTML need them, and so does a rollback. Nothing is purged: the new
  // HTML reaches every reader within the pages' short lifetime.
  await site.publish({ version: build.version, assets });
}

/** Goes back to the release that was live before the current one. */
export async function rollback(site: SiteAdmin): Promise<void> {
  const previous = site.history().at(-2);
  if (!previous) throw new Error('there is no previous release to go back to');
  // Its files are all still stored, under their own names: publishing its manifest again is the whole rollback.
  await site.publish(previous);
}
