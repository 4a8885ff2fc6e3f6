import { expect, test } from 'vitest';
import { headerRules, headersFor, parseHeadersFile, renderHeadersFile, renderNginx, renderVercelJson } from '../../src/hosting/headers.ts';

test('every host file carries the isolation headers under the base path', () => {
  const rules = headerRules('/course/');
  const netlify = renderHeadersFile(rules);
  expect(netlify).toContain('/course/*\n  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp');
  expect(parseHeadersFile(netlify)).toEqual(rules);
  const vercel = JSON.parse(renderVercelJson(rules)) as { headers: { source: string; headers: { key: string; value: string }[] }[] };
  expect(vercel.headers[0]!.source).toBe('/course/(.*)');
  expect(vercel.headers[0]!.headers).toContainEqual({ key: 'Cross-Origin-Embedder-Policy', value: 'require-corp' });
  const nginx = renderNginx(rules);
  expect(nginx).toContain('location /course/ {');
  expect(nginx).toContain('add_header Cross-Origin-Opener-Policy "same-origin" always;');
  // nginx does not inherit add_header into a nested location that adds its own: the asset block repeats them.
  expect(nginx.split('Cross-Origin-Embedder-Policy').length - 1).toBe(2);
  // A missing page is the course's own 404, under the base; Monaco and the runtimes go out compressed.
  expect(nginx).toContain('error_page 404 /course/404.html;');
  expect(nginx).toMatch(/gzip_types [^;]*application\/javascript[^;]*application\/wasm/);
});

test('rules apply by path prefix, later rules adding to earlier ones', () => {
  const rules = headerRules('/');
  expect(headersFor(rules, '/chapters/01-clones/')).not.toHaveProperty('Cache-Control');
  expect(headersFor(rules, '/_astro/app.js')).toMatchObject({ 'Cache-Control': 'public, max-age=31536000, immutable', 'Cross-Origin-Opener-Policy': 'same-origin' });
});
