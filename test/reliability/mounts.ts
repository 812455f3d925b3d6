// Small file systems for the fault tests: a tmpfs of a few MB (a disk that fills up) and
// read-only bind mounts. Mounting needs root (CI runs as root): without root the test is skipped
// with the reason printed; as root a mount that fails is a failure, never a quiet skip.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

function run(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return (r.stderr || r.error?.message || `${cmd} exited ${r.status}`).trim();
}

/** Mounts a tmpfs of `sizeMb` at `dir`; returns why it could not, or undefined when mounted. */
export function mountTmpfs(dir: string, sizeMb: number): string | undefined {
  fs.mkdirSync(dir, { recursive: true });
  if (process.getuid?.() !== 0) return 'mounting a small file system needs root';
  return run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', dir]);
}

/** Shows `source` read-only at `target` (a bind mount remounted read-only). */
export function mountReadOnly(source: string, target: string): string | undefined {
  fs.mkdirSync(target, { recursive: true });
  if (process.getuid?.() !== 0) return 'a read-only bind mount needs root';
  const failed = run('mount', ['--bind', source, target]);
  if (failed) return failed;
  const ro = run('mount', ['-o', 'remount,bind,ro', target]);
  if (ro) {
    unmount(target);
    return ro;
  }
  return undefined;
}

export function unmount(dir: string): void {
  // Lazy: a process that still has a file open there must not make the test hang.
  run('umount', ['-l', dir]);
}

/** Skips (not root: the reason is printed) or fails (root, so the mount should have worked). */
export function cannotRun(label: string, why: string, skip: () => void): void {
  if (process.getuid?.() === 0) throw new Error(`${label}: the mount failed although this runs as root: ${why}`);
  console.log(`reliability | ${label} | skipped: ${why}`);
  skip();
}
