/**
 * `npm run lab -- <topic> --serve`: the lab's cluster on real ports, built from the reader's files in
 * a child process (labs/harness/node/serve.ts, the program WebContainer runs), so that Ctrl+C ends
 * it even when the reader's code loops, and whatever it started ends with it.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MOUNTED } from '../../labs/harness/protocol.ts';
import { buildLabBundle, sqlWasmPath } from '../build-lab-assets.ts';
import { ROOT, WORK_DIR, type LabFolder } from './catalog.ts';
import { stopRunsOnInterrupt, trackProcessGroup } from './run-node.ts';

const SERVE = join(ROOT, 'labs', 'harness', 'node', 'serve.ts');

/**
 * Lays the files out as WebContainer mounts them, serves them until Ctrl+C, and resolves with the exit
 * code. With `redis` (a redis:// address), the cluster's key-value stores keep their data there.
 */
export async function serveInChild(lab: LabFolder, files: Record<string, string>, port: number, redis?: string): Promise<number> {
  const dir = join(WORK_DIR, 'serve', lab.name);
  rmSync(dir, { recursive: true, force: true });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, MOUNTED.labDir, file)), { recursive: true });
    writeFileSync(join(dir, MOUNTED.labDir, file), text);
  }
  writeFileSync(join(dir, MOUNTED.bundle), JSON.stringify(await buildLabBundle(lab)));
  copyFileSync(sqlWasmPath(), join(dir, MOUNTED.sqlWasm));

  // Its own process group: the terminal's Ctrl+C reaches this process, which ends the whole group.
  const child = spawn(process.execPath, [SERVE, '--dir', dir, '--port', String(port), ...(redis === undefined ? [] : ['--redis', redis])], { cwd: ROOT, stdio: 'inherit', detached: true });
  trackProcessGroup(child);
  stopRunsOnInterrupt();
  process.stdout.write('Press Ctrl+C to stop.\n');
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}
