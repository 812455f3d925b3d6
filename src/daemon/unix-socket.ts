// The daemon's Unix socket: who may connect (mode 0660: the service user and its group) and what
// to do with a socket file left behind. A stale file (nobody answers) is removed; a live one means
// another brain serve owns it, and starting a second would split sessions between two writers.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** brain serve cannot start for a reason an operator fixes (the message says how). */
export class DaemonStartError extends Error {
  override name = 'DaemonStartError';
}

export class SocketInUseError extends DaemonStartError {
  override name = 'SocketInUseError';
}

/** Resolves true when something accepts connections on the socket at `file`. */
export function socketIsLive(file: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(file);
    const done = (live: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Makes `file` free to listen on, or throws SocketInUseError when a live server owns it. */
export async function claimSocketPath(file: string): Promise<void> {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o750 });
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) {
    throw new SocketInUseError(`${file} exists and is not a socket; remove it or set BRAIN_SOCKET_PATH elsewhere`);
  }
  if (await socketIsLive(file)) {
    throw new SocketInUseError(`another brain serve is already listening on ${file}; stop it first (systemctl stop brain) or set BRAIN_SOCKET_PATH elsewhere`);
  }
  fs.rmSync(file, { force: true });
}

/** Listens on `file` with mode 0660 from the first moment (umask), not after a window of 0777. */
export function listenUnix(server: net.Server, file: string): Promise<void> {
  const previous = process.umask(0o117);
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      process.umask(previous);
      reject(err);
    };
    server.once('error', onError);
    server.listen(file, () => {
      process.umask(previous);
      server.off('error', onError);
      fs.chmodSync(file, 0o660);
      resolve();
    });
  });
}
