/** Writes the hosts' header files into the build output, all from src/hosting/headers.ts. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';
import { headerRules, renderHeadersFile, renderNginx, renderVercelJson } from '../hosting/headers.ts';

export default function hostingFiles(): AstroIntegration {
  let base = '/';
  return {
    name: 'scale-lab:hosting-files',
    hooks: {
      'astro:config:done': ({ config }) => {
        base = config.base;
      },
      'astro:build:done': ({ dir, logger }) => {
        const out = fileURLToPath(dir);
        const rules = headerRules(base);
        writeFileSync(join(out, '_headers'), renderHeadersFile(rules));
        writeFileSync(join(out, 'vercel.json'), renderVercelJson(rules));
        writeFileSync(join(out, 'nginx-scale-lab.conf'), renderNginx(rules));
        logger.info('Wrote _headers (Netlify, Cloudflare Pages), vercel.json and nginx-scale-lab.conf.');
      },
    },
  };
}
