/**
 * A real redis-server for tests: started on a free loopback port with nothing saved to disk, owned by
 * the test process (stopped with it), and a small client on @redis/client that sends raw commands.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { redisConnector, type RawRedis } from '../../labs/harness/node/redis.ts';
import { freePort, portOpen } from './ports.ts';

export interface RedisServer {
  port: number;
  /** Opens a connection to logical database `db` that sends raw command words and answers RESP2 replies. */
  connect(db?: number): Promise<RawRedis>;
  stop(): Promise<void>;
}

export type { RawRedis };

/** Whether redis-server can be run here. */
export function redisServerInstalled(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return !probe.error && probe.status === 0;
}

/** The message for a machine without redis-server: a failure under CI, where .ci/run installs it. */
export const MISSING_REDIS = 'redis-server is not installed: the Redis differential test needs it. Install it (apt-get install redis-server); .ci/run does.';

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before listening on ${port}`);
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not listen on 127.0.0.1:${port} within 5 s`);
}

/** Starts redis-server in the foreground (so it dies with its parent's stop()), with `databases` logical databases. */
export async function startRedisServer(options: { databases?: number } = {}): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--databases', String(options.databases ?? 16), '--protected-mode', 'yes',
    ], { stdio: 'ignore' });
    // Should the test process end without stop(), the server goes with it.
    const orphanGuard = () => child.kill('SIGKILL');
    process.once('exit', orphanGuard);
    child.once('exit', () => process.off('exit', orphanGuard));
    try {
      await waitForPort(port, child);
    } catch (err) {
      lastError = err;
      child.kill('SIGKILL');
      continue;
    }
    const connector = redisConnector({ socket: { host: '127.0.0.1', port } });
    return {
      port,
      connect: (db) => connector.connect(db),
      stop: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    };
  }
  throw lastError;
}
