/**
 * A plain static file server for tests and the benchmark: serves a built site under a base path,
 * with no headers of its own unless asked to apply a `_headers` file the way Netlify does.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { createGzip } from 'node:zlib';
import { headersFor, parseHeadersFile } from '../../src/hosting/headers.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

export interface StaticServerOptions {
  base?: string;
  /** Apply `dir/_headers` the way Netlify does. */
  applyHeadersFile?: boolean;
  /**
   * Send an HTML page in two parts: up to the first occurrence of `before`, then, `ms` later, the rest,
   * as a slow network does. The browser may paint the first part on its own.
   */
  pauseHtml?: { before: string; ms: number };
  /** Gzip text, scripts and WebAssembly for a client that accepts it, as every real host does. */
  gzip?: boolean;
}

const COMPRESSIBLE = /^(text\/|application\/(json|xml|wasm)|image\/svg)/;

export async function serveStatic(dir: string, options: StaticServerOptions = {}): Promise<StaticServer> {
  const base = options.base ?? '/';
  const rules = options.applyHeadersFile && existsSync(join(dir, '_headers')) ? parseHeadersFile(readFileSync(join(dir, '_headers'), 'utf8')) : [];
  const server: Server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (!pathname.startsWith(base)) {
      res.writeHead(404).end('not found');
      return;
    }
    let file = normalize(join(dir, pathname.slice(base.length)));
    if (!file.startsWith(normalize(dir))) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    if (options.gzip && COMPRESSIBLE.test(type) && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      res.writeHead(200, { 'content-type': type, 'content-encoding': 'gzip', vary: 'Accept-Encoding', ...headersFor(rules, pathname) });
      createReadStream(file).pipe(createGzip()).pipe(res);
      return;
    }
    res.writeHead(200, { 'content-type': type, ...headersFor(rules, pathname) });
    const pause = options.pauseHtml;
    const html = pause && extname(file) === '.html' ? readFileSync(file, 'utf8') : undefined;
    const cut = html?.indexOf(pause!.before) ?? -1;
    if (html === undefined || cut < 0) {
      createReadStream(file).pipe(res);
      return;
    }
    res.write(html.slice(0, cut));
    setTimeout(() => res.end(html.slice(cut)), pause!.ms);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${base}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
