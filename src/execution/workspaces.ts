// Project workspaces: one directory per project, and, when brain runs as root with a quota, one
// ext4 filesystem per project (a preallocated image on a loop device) so that the kernel holds
// the byte and file limits and a full workspace never fills the disk brain's database is on.
//
// The filesystems are mounted only in the mount namespace of a "holder" process that brain starts
// and that dies with it: nothing is ever mounted on the host, so a killed brain leaves no mount
// behind. Sandboxes start inside the holder's namespace (nsenter); brain reads a workspace
// through /proc/<holder>/root.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../core/config.js';
import { UnavailableError } from '../core/errors.js';
import { enterHolder, NS_TOOLS } from '../../worker/firejail-args.js';
import type { QuotaWatch } from '../../worker/quota-watch.js';
import type { SandboxHost } from './host.js';

/**
 * Where brain versions before the per-sandbox mount namespace kept the workspaces of data
 * directories the sandbox user could not reach (/srv/brain-workspaces/<hash of the path>).
 * Hidden from every sandbox; brain moves its own folder's projects into their new place and
 * removes folders whose data directory is gone.
 */
export const LEGACY_WORKSPACES = '/srv/brain-workspaces';

export type QuotaHow = QuotaWatch['how'] | 'none';

export interface QuotaPlan {
  how: QuotaHow;
  bytes: number;
  files: number;
  /** Why the quota is not a filesystem of its own here. */
  why?: string;
}

const TOOLS = {
  mkfs: ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4'],
  fallocate: ['/usr/bin/fallocate', '/bin/fallocate'],
  flock: ['/usr/bin/flock', '/bin/flock'],
  losetup: ['/usr/sbin/losetup', '/sbin/losetup'],
  umount: ['/usr/bin/umount', '/bin/umount'],
  cp: ['/usr/bin/cp', '/bin/cp'],
  sleep: ['/usr/bin/sleep', '/bin/sleep'],
};
type Tool = keyof typeof TOOLS;

function findTool(name: Tool): string | undefined {
  return TOOLS[name].find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** How the workspace quota can be enforced on this host. */
export function quotaPlan(config: Config, root: boolean): QuotaPlan {
  const base = { bytes: config.workspaceQuotaBytes, files: config.workspaceMaxFiles };
  if (config.workspaceQuotaBytes === 0) return { how: 'none', ...base, why: 'BRAIN_WORKSPACE_QUOTA_MB=0' };
  if (!root) return { how: 'walk', ...base, why: 'brain does not run as root, so it cannot give each workspace a filesystem' };
  const missing = (Object.keys(TOOLS) as Tool[]).filter((t) => !findTool(t));
  if (missing.length) return { how: 'walk', ...base, why: `${missing.join(', ')} not found (apt-get install e2fsprogs util-linux coreutils)` };
  if (!fs.existsSync('/dev/loop-control')) return { how: 'walk', ...base, why: 'no loop devices (/dev/loop-control is missing)' };
  return { how: 'filesystem', ...base };
}

export interface WorkspacePaths {
  /** The workspace as the sandbox is started with it (in the holder's namespace, as root). */
  path: string;
  /** The same directory as brain's own processes reach it. */
  view: string;
}

export interface Workspaces {
  readonly quota: QuotaPlan;
  /** The process whose mount namespace has the workspace filesystems (root with a quota). */
  holder(): number | undefined;
  /** The workspace of a project ('' = global), created and mounted on first use. */
  ensure(project: string): Promise<WorkspacePaths>;
  /** What the sandbox supervisor needs to hold a run to the quota. */
  watch(paths: WorkspacePaths): QuotaWatch | undefined;
  /** Moves this data directory's workspaces from LEGACY_WORKSPACES into place; how many moved. */
  adoptLegacy(): Promise<number>;
  close(): void;
}

const MIB = 1024 * 1024;
const BLOCK = 4096;
const JOURNAL_MB = 4;

/** Blocks ext4 keeps back from statfs's "available" (2% of the filesystem, at most 4096 blocks). */
function ext4Reserve(blocks: number): number {
  return Math.min(Math.floor(blocks / 50), 4096);
}

interface Superblock {
  blocks: number;
  freeBlocks: number;
  inodes: number;
  label: string;
}

/** The few superblock fields brain needs, read straight from the image (no tool, no mount). */
export function readSuperblock(image: string): Superblock | undefined {
  const buf = Buffer.alloc(1024);
  let fd: number | undefined;
  try {
    fd = fs.openSync(image, 'r');
    if (fs.readSync(fd, buf, 0, 1024, 1024) !== 1024 || buf.readUInt16LE(0x38) !== 0xef53) return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  const label = buf.subarray(0x78, 0x88);
  const end = label.indexOf(0);
  return {
    inodes: buf.readUInt32LE(0),
    blocks: buf.readUInt32LE(4),
    freeBlocks: buf.readUInt32LE(0x0c),
    label: label.subarray(0, end < 0 ? 16 : end).toString('latin1'),
  };
}

/** The label that records which limits an image was made for (16 bytes at most). */
function limitsLabel(q: QuotaPlan): string {
  return `bq${(q.bytes / MIB).toString(36)}f${q.files.toString(36)}`;
}

/** Mount points in a mountinfo file (octal escapes undone). */
function mountPoints(mountinfo: string): Set<string> {
  const out = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) out.add(f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** Blocks until `ok` or the time is up (start-up only: a few milliseconds). */
function waitSync(ok: () => boolean, ms: number, stepMs = 5): boolean {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    Atomics.wait(cell, 0, 0, stepMs);
  }
  return true;
}

function nsOf(pid: number | 'self'): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a tool with an empty environment; its error output becomes the error. */
async function tool(file: string, args: string[], timeout = 120_000): Promise<string> {
  const { stdout } = await run(file, args, { env: {}, timeout, encoding: 'utf8', maxBuffer: 1024 * 1024 });
  return stdout;
}

/** A child's error output for an error message. */
function failure(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message: string };
  const text = e.stderr ? e.stderr.toString().trim() : '';
  return text || e.message;
}

export function openWorkspaces(host: SandboxHost, config: Config, warn: (message: string) => void = () => undefined): Workspaces {
  const quota = host.quota;
  const uid = host.spec.uid;
  const gid = host.spec.gid;
  const bin = (name: Tool) => findTool(name)!;
  /** Per project: the ensure in progress, so that concurrent calls make and mount it once. */
  const inflight = new Map<string, Promise<WorkspacePaths>>();
  const ready = new Set<string>();
  let holderProcess: ChildProcess | undefined;
  let holderNs: string | undefined;
  let closed = false;
  const warned = new Set<string>();

  /** Starts (or restarts) the process that owns the namespace the filesystems are mounted in. */
  function holder(): number {
    // Checked by namespace too: a pid alone could by now be some other process's.
    if (holderProcess && holderProcess.exitCode === null && holderProcess.signalCode === null && nsOf(holderProcess.pid!) === holderNs) return holderProcess.pid!;
    if (closed) throw new UnavailableError('brain is shutting down');
    // pdeathsig: the holder dies with the thread that started it (brain's main thread), and its
    // namespace, with every mount in it, goes once the last sandbox in it is gone.
    const child = spawn(NS_TOOLS.unshare, ['--mount', '--propagation', 'private', '--', NS_TOOLS.setpriv, '--pdeathsig', 'KILL', '--', bin('sleep'), 'infinity'], { stdio: 'ignore', env: {}, cwd: '/' });
    child.unref();
    child.on('error', () => undefined);
    const mine = nsOf('self');
    const pid = child.pid;
    if (pid === undefined || !waitSync(() => child.exitCode !== null || (nsOf(pid) !== undefined && nsOf(pid) !== mine), 5000) || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new UnavailableError('the process that holds the workspace filesystems did not start (unshare --mount failed); run `brain doctor`');
    }
    holderProcess = child;
    holderNs = nsOf(pid);
    return pid;
  }

  async function inHolder(file: string, args: string[]): Promise<void> {
    await tool(NS_TOOLS.nsenter, enterHolder(holder()).concat(file, args));
  }

  function view(dir: string): string {
    return quota.how === 'filesystem' ? `/proc/${holder()}/root${dir}` : dir;
  }

  function mounted(dir: string): boolean {
    try {
      return mountPoints(fs.readFileSync(`/proc/${holder()}/mountinfo`, 'utf8')).has(dir);
    } catch {
      return false;
    }
  }

  /** Makes an image of `bytes` usable bytes: ext4 metadata, journal and reserve come on top. */
  async function makeImage(file: string) {
    fs.mkdirSync(host.imageRoot, { recursive: true, mode: 0o700 });
    const mkfs = async (size: number) => {
      fs.rmSync(file, { force: true });
      // Reserved now, so that a workspace can never take disk space that brain's database needs.
      await tool(bin('fallocate'), ['-l', String(size), file]);
      fs.chmodSync(file, 0o600);
      const owner = uid === undefined ? [] : ['-E', `root_owner=${uid}:${gid}`];
      await tool(bin('mkfs'), ['-q', '-F', '-b', String(BLOCK), '-m', '0', '-N', String(quota.files), '-J', `size=${JOURNAL_MB}`, '-L', limitsLabel(quota), ...owner, file]);
    };
    const roundUp = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
    // A first guess, then one correction from what mkfs actually left free.
    let size = roundUp(quota.bytes + quota.files * 256 + (JOURNAL_MB + 2) * MIB + ext4Reserve(quota.bytes / BLOCK) * BLOCK);
    await mkfs(size);
    const sb = readSuperblock(file);
    if (!sb) throw new Error(`mkfs.ext4 did not make ${file}`);
    const available = (sb.freeBlocks - ext4Reserve(sb.blocks)) * BLOCK;
    if (Math.abs(available - quota.bytes) > 16 * BLOCK) {
      size = roundUp(size + quota.bytes - available);
      await mkfs(size);
    }
  }

  async function mount(image: string, dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // flock: two brains on one data directory never attach one image to two loop devices (two
    // kernels' views of one filesystem would corrupt it); mount reuses the device of the first.
    try {
      await inHolder(bin('flock'), ['-w', '60', image, NS_TOOLS.mount, '-t', 'ext4', '-o', 'loop,nosuid,nodev,noatime', image, dir]);
    } catch (err) {
      throw new UnavailableError(`Cannot mount the workspace ${path.basename(dir)} (${failure(err)}). Without loop devices (in some containers) brain cannot give workspaces a filesystem each: set BRAIN_WORKSPACE_QUOTA_MB=0 for plain directories, then restart brain.`);
    }
    const v = view(dir);
    fs.rmSync(path.join(v, 'lost+found'), { recursive: true, force: true });
    fs.chmodSync(v, 0o700);
  }

  async function unmount(dir: string) {
    try {
      await inHolder(bin('umount'), [dir]);
    } catch {
      /* not mounted */
    }
  }

  /** Whether some process (another brain on this data directory) has the image attached. */
  async function attached(image: string): Promise<boolean> {
    try {
      return (await tool(bin('losetup'), ['-j', image])).trim() !== '';
    } catch {
      return true;
    }
  }

  /** Copies a directory's contents into a mounted workspace; false when they do not fit. */
  async function copyInto(source: string, dir: string): Promise<boolean> {
    try {
      await tool(bin('cp'), ['-a', '--', `${source}/.`, `${view(dir)}/`], 3_600_000);
      return true;
    } catch (err) {
      warn(`copying ${source} into the workspace failed: ${failure(err)}`);
      return false;
    }
  }

  /**
   * An image made for other limits (the operator changed BRAIN_WORKSPACE_QUOTA_MB or
   * BRAIN_WORKSPACE_MAX_FILES) is rebuilt with the new ones and its files copied over, unless
   * another brain has it in use or the files do not fit; then it keeps its limits for now.
   */
  async function reshape(name: string, image: string, dir: string) {
    const label = readSuperblock(image)?.label;
    if (label === limitsLabel(quota)) return;
    const once = (why: string) => {
      if (!warned.has(name)) warn(`the workspace of ${name} keeps its old limits: ${why}`);
      warned.add(name);
    };
    // A brain that just stopped releases the loop device a moment after it exits.
    let free = false;
    for (let i = 0; i < 30 && !(free = !(await attached(image))); i++) await sleep(100);
    if (!free) return once('another brain process on this data directory has it in use; restart them all to apply the new quota');
    const fresh = `${image}.new-${process.pid}`;
    const oldDir = path.join(host.imageRoot, `.old-${name}-${process.pid}`);
    try {
      await makeImage(fresh);
      await mount(image, oldDir);
      await mount(fresh, dir);
      const fits = await copyInto(view(oldDir), dir);
      await unmount(dir);
      await unmount(oldDir);
      if (!fits) return once(`its files do not fit into ${quota.bytes / MIB} MB and ${quota.files} files; delete some, or raise BRAIN_WORKSPACE_QUOTA_MB / BRAIN_WORKSPACE_MAX_FILES`);
      fs.renameSync(fresh, image);
    } finally {
      await unmount(dir);
      await unmount(oldDir);
      fs.rmSync(oldDir, { recursive: true, force: true });
      fs.rmSync(fresh, { force: true });
    }
  }

  /** Workspace files from before this layout: a plain directory in place, or a legacy folder. */
  function earlierFiles(dir: string, name: string): string[] {
    const legacy = path.join(LEGACY_WORKSPACES, createHash('sha256').update(path.dirname(host.workspaceRoot)).digest('hex').slice(0, 16), name);
    return [dir, legacy].filter((d) => {
      try {
        return fs.lstatSync(d).isDirectory() && fs.readdirSync(d).length > 0;
      } catch {
        return false;
      }
    });
  }

  async function ensureFilesystem(name: string, dir: string) {
    if (mounted(dir)) return;
    const image = path.join(host.imageRoot, `${name}.ext4`);
    if (fs.existsSync(image)) await reshape(name, image, dir);
    else {
      const tmp = `${image}.tmp-${process.pid}`;
      try {
        await makeImage(tmp);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        throw new UnavailableError(`Cannot make the ${quota.bytes / MIB} MB workspace of ${name}: ${failure(err)}. Free disk space in ${host.imageRoot} or lower BRAIN_WORKSPACE_QUOTA_MB.`);
      }
      // link, not rename: when two brains make it at once, the first one's image stays.
      try {
        fs.linkSync(tmp, image);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    }
    // Files from before (a plain directory at the mount point, a folder in LEGACY_WORKSPACES)
    // move into the new filesystem.
    const earlier = earlierFiles(dir, name);
    let aside: string | undefined;
    if (earlier[0] === dir) {
      aside = path.join(host.workspaceRoot, `.earlier-${name}-${process.pid}`);
      fs.renameSync(dir, aside);
      earlier[0] = aside;
    }
    await mount(image, dir);
    for (const source of earlier) {
      if (!(await copyInto(source, dir))) {
        await unmount(dir);
        if (aside) fs.renameSync(aside, dir);
        throw new UnavailableError(`The files of ${name} from before (${source}) do not fit into a workspace of ${quota.bytes / MIB} MB and ${quota.files} files; raise BRAIN_WORKSPACE_QUOTA_MB / BRAIN_WORKSPACE_MAX_FILES or delete files there.`);
      }
      fs.rmSync(source, { recursive: true, force: true });
    }
  }

  async function ensurePlain(dir: string) {
    const legacy = earlierFiles(dir, path.basename(dir)).find((d) => d !== dir);
    if (!fs.existsSync(dir)) fs.mkdirSync(dir, { mode: 0o700 });
    if (legacy && (await copyInto(legacy, dir))) fs.rmSync(legacy, { recursive: true, force: true });
    const st = fs.lstatSync(dir);
    if (!st.isDirectory()) throw new Error(`the workspace ${dir} is not a directory; remove it`);
    // Owned by the sandbox user, entered by nobody else (workspaces made by earlier versions were 0755).
    if (uid !== undefined && st.uid !== uid) fs.chownSync(dir, uid, gid!);
    if ((st.mode & 0o777) !== 0o700) fs.chmodSync(dir, 0o700);
  }

  async function ensure(project: string): Promise<WorkspacePaths> {
    const name = project === '' ? '_global' : project;
    const dir = path.join(host.workspaceRoot, name);
    // The common case, answered without waiting: made (and still mounted) by this process already.
    if (ready.has(name) && (quota.how !== 'filesystem' || mounted(dir))) return { path: dir, view: view(dir) };
    let pending = inflight.get(name);
    if (!pending) {
      pending = (quota.how === 'filesystem' ? ensureFilesystem(name, dir) : ensurePlain(dir))
        .then(() => {
          ready.add(name);
          return { path: dir, view: view(dir) };
        })
        .finally(() => inflight.delete(name));
      inflight.set(name, pending);
    }
    return pending;
  }

  return {
    quota,
    holder: () => (quota.how === 'filesystem' ? holder() : undefined),
    ensure,
    async adoptLegacy() {
      const folder = path.join(LEGACY_WORKSPACES, createHash('sha256').update(path.dirname(host.workspaceRoot)).digest('hex').slice(0, 16));
      let names: string[] = [];
      try {
        names = fs.readdirSync(folder).filter((n) => n !== OWNER_FILE && !n.startsWith('.'));
      } catch {
        /* none */
      }
      let moved = 0;
      for (const name of names) {
        try {
          await ensure(name === '_global' ? '' : name);
          moved++;
        } catch (err) {
          warn(`the workspace of ${name} stays in ${folder} for now: ${(err as Error).message}`);
        }
      }
      removeLegacyWorkspaces(folder);
      return moved;
    },
    watch(paths) {
      if (quota.how === 'none') return undefined;
      return { view: paths.view, bytes: quota.bytes, files: quota.files, how: quota.how };
    },
    close() {
      closed = true;
      holderProcess?.kill('SIGKILL');
    },
  };
}

/** In each folder under LEGACY_WORKSPACES: the BRAIN_EXECUTION_PATH it belongs to. */
const OWNER_FILE = '.owner';

/**
 * Removes LEGACY_WORKSPACES folders whose data directory no longer exists, `own` once its projects
 * have all moved, and LEGACY_WORKSPACES itself once it is empty. A folder without an owner file is
 * left alone: nothing says whose it is.
 */
export function removeLegacyWorkspaces(own?: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(LEGACY_WORKSPACES);
  } catch {
    return 0;
  }
  for (const name of names) {
    const dir = path.join(LEGACY_WORKSPACES, name);
    let owner: string;
    try {
      owner = fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8');
    } catch {
      continue;
    }
    const emptied = dir === own && fs.readdirSync(dir).every((n) => n === OWNER_FILE);
    if (!path.isAbsolute(owner) || (fs.existsSync(owner) && !emptied)) continue;
    try {
      fs.rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch {
      // Another brain removing it at the same moment: the next start retries.
    }
  }
  try {
    fs.rmdirSync(LEGACY_WORKSPACES);
  } catch {
    /* still holds folders of other brains */
  }
  return removed;
}
