/**
 * A real nginx (the system's, e.g. Debian's package) serving a built site the way the hosting
 * guide says: the shipped snippet `nginx-scale-lab.conf` included in a server block, its `alias`
 * lines pointed at the build. It runs on a free loopback port with a prefix and config of its own
 * in a temporary folder, so it needs no root paths and leaves nothing behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

export const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const MIME_TYPES = ['/etc/nginx/mime.types', '/usr/local/etc/nginx/mime.types'].find((p) => existsSync(p));

export interface RunningNginx {
  url: string;
  close(): Promise<void>;
}

/** Serves `dist` (built for `base`) through nginx with the build's own snippet. */
export async function startNginx(dist: string, base = '/'): Promise<RunningNginx> {
  if (!NGINX || !MIME_TYPES) throw new Error('nginx is not installed (apt-get install nginx)');
  const dir = mkdtempSync(join(tmpdir(), 'scale-lab-nginx-'));
  const port = await freePort();
  // What a team does after copying the build: point the snippet's alias lines at it.
  const snippet = readFileSync(join(dist, 'nginx-scale-lab.conf'), 'utf8').replaceAll('/var/www/scale-lab', dist.replace(/\/$/, ''));
  writeFileSync(join(dir, 'scale-lab.conf'), snippet);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, t)};`).join('\n');
  const runAs = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : '';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${runAs}worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 64; }
http {
  include ${MIME_TYPES};
  default_type application/octet-stream;
  access_log off;
${temp}
  # Debian's default: gzip on, for HTML only unless the snippet says more.
  gzip on;
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    include ${join(dir, 'scale-lab.conf')};
  }
}
`,
  );
  const check = spawnSync(NGINX, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx rejects the configuration with the shipped snippet:\n${check.stderr}`);
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}${base}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(url);
      break;
    } catch {
      if (i > 100 || child.exitCode !== null) throw new Error(`nginx did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGQUIT');
      }),
  };
}
