// Provided: the shop's releases, the origin's file store, and the tools a deploy uses. Your code is in
// origin.ts (the headers), edge.ts (the cache key) and deploy.ts (the deploy and the rollback).

/** What the build of one release produces: each file's name and content, before any fingerprint. */
export interface Build {
  version: string;
  files: Record<string, string>;
}

/** The releases the tests deploy. Each one changes the stylesheet and the script; the logo never changes. */
export const BUILDS: Record<string, Build> = Object.fromEntries(
  [
    ['v1', '#2b6cb0', 'grid'],
    ['v2', '#c05621', 'flex'],
    ['v3', '#2f855a', 'columns'],
  ].map(([version, colour, layout]) => [
    version,
    {
      version: version!,
      files: {
        'app.css': `/* release ${version} */\n.buy { background: ${colour}; }\n.page { display: ${layout}; }\n`,
        'app.js': `/* release ${version} */\ndocument.documentElement.dataset.layout = '${layout}';\n`,
        'logo.svg': '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"/></svg>\n',
      },
    },
  ]),
);

/**
 * `app.css` → `app.1f3a9c2e.css`: the file's name with a hash of its content, as bundlers name their
 * output. Same content, same name; any change, a new name.
 */
export function fingerprint(name: string, content: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < content.length; i++) {
    hash ^= content.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const dot = name.lastIndexOf('.');
  const hex = hash.toString(16).padStart(8, '0');
  return dot < 0 ? `${name}.${hex}` : `${name.slice(0, dot)}.${hex}${name.slice(dot)}`;
}

/** The release the origin's HTML points to: its version and the URL of each of its files. */
export interface Manifest {
  version: string;
  /** By file name: `{ 'app.css': '/assets/app.1f3a9c2e.css', … }`. */
  assets: Record<string, string>;
}

/** The shop's public pages and what they say (the tests change a page to see when readers notice). */
const PAGES: Record<string, string> = {
  '/': 'Outdoor gear for every trail',
  '/products/1': 'Trail Running Shoes, 129.99',
  '/products/2': 'Merino Wool Socks, 24.99',
  '/products/3': 'Insulated Water Bottle, 34.50',
  '/products/4': 'Waterproof Hiking Jacket, 189.00',
};

/**
 * The origin's storage, like a bucket behind it: the asset files by URL path, the public pages'
 * text, and the manifest its HTML uses now.
 */
export class SiteStore {
  readonly files = new Map<string, string>();
  readonly pages = new Map<string, string>(Object.entries(PAGES));
  /** Every manifest published, oldest first; the last one is live. */
  readonly published: Manifest[] = [];

  /** The manifest the HTML uses now. */
  live(): Manifest {
    const manifest = this.published.at(-1);
    if (!manifest) throw new Error('nothing has been published yet');
    return manifest;
  }

  /** The HTML of a page: its text, with the live release's stylesheet, script and logo. */
  render(title: string, body: string): string {
    const { version, assets } = this.live();
    return [
      '<!doctype html>',
      `<html data-release="${version}">`,
      `<head><title>${title}</title><link rel="stylesheet" href="${assets['app.css']}"><script src="${assets['app.js']}" defer></script></head>`,
      `<body class="page"><img src="${assets['logo.svg']}" alt="Trailhead"><main>${body}</main></body>`,
      '</html>',
    ].join('\n');
  }
}

/** How long each operation of a deploy takes: uploads and purges are not instant. */
export const UPLOAD_MS = 1500;
export const PURGE_MS = 2000;

/** What deploy.ts may do to the site. Each call takes time on the cluster's clock; readers keep reading meanwhile. */
export interface SiteAdmin {
  /** Stores `content` at `path` (e.g. '/assets/app.1f3a9c2e.css'), replacing what was there. Takes 1.5 s. */
  upload(path: string, content: string): Promise<void>;
  /** Deletes the file at `path`. */
  remove(path: string): Promise<void>;
  /** The paths of every file stored now. */
  list(): string[];
  /** From now on, the origin's HTML points to `manifest`'s files. Instant. */
  publish(manifest: Manifest): Promise<void>;
  /** Every manifest published so far, oldest first; the last one is live. */
  history(): Manifest[];
  /** Makes every edge forget what it stored for `path` (its cache key). Takes 2 s to reach every edge. */
  purge(path: string): Promise<void>;
  /** Makes every edge forget everything it stored. Takes 2 s. */
  purgeAll(): Promise<void>;
}
