/**
 * Fails the build when a built page links to a page or file of this site that does not exist.
 * It reads the generated HTML, so relative links (which keep working under any base path) are
 * checked as the browser would resolve them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';

function htmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    return statSync(full).isDirectory() ? htmlFiles(full) : entry.endsWith('.html') ? [full] : [];
  });
}

/** The path a page is served at, e.g. dist/chapters/01-clones/index.html → /base/chapters/01-clones/. */
function pageUrl(distDir: string, file: string, base: string): URL {
  const path = relative(distDir, file).split('\\').join('/').replace(/index\.html$/, '').replace(/\.html$/, '');
  return new URL(`${base}${path}`, 'http://site.invalid');
}

function exists(distDir: string, pathname: string, base: string): boolean {
  if (!pathname.startsWith(base)) return false;
  const local = join(distDir, decodeURIComponent(pathname.slice(base.length)));
  if (pathname.endsWith('/')) return existsSync(join(local, 'index.html'));
  return existsSync(local) || existsSync(`${local}.html`) || existsSync(join(local, 'index.html'));
}

export default function checkLinks(): AstroIntegration {
  let base = '/';
  return {
    name: 'scale-lab:check-links',
    hooks: {
      'astro:config:done': ({ config }) => {
        base = config.base.endsWith('/') ? config.base : `${config.base}/`;
      },
      'astro:build:done': ({ dir, logger }) => {
        const distDir = fileURLToPath(dir);
        const broken: string[] = [];
        let checked = 0;
        for (const file of htmlFiles(distDir)) {
          const html = readFileSync(file, 'utf8');
          const page = pageUrl(distDir, file, base);
          for (const [, attr, raw] of html.matchAll(/\s(href|src)="([^"]*)"/g)) {
            if (!raw || /^(#|[a-z][a-z0-9+.-]*:|\/\/)/i.test(raw)) continue;
            const target = new URL(raw.replace(/&amp;/g, '&'), page);
            checked++;
            if (!exists(distDir, target.pathname, base)) broken.push(`${relative(distDir, file)}: ${attr}="${raw}" → ${target.pathname}`);
          }
        }
        if (broken.length > 0) {
          throw new Error(`${broken.length} internal link(s) lead nowhere:\n${[...new Set(broken)].map((b) => `  - ${b}`).join('\n')}`);
        }
        logger.info(`${checked} internal links checked, none broken.`);
      },
    },
  };
}
