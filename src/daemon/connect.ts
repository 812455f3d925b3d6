// `brain connect`: splices stdin/stdout onto the daemon's Unix socket. Both sides speak the same
// newline-delimited JSON-RPC, so bytes pass through untouched and this process stays tiny.
import net from 'node:net';
import { socketIsLive } from './unix-socket.js';

/** Exit codes scripts rely on: 0 done, 69 (EX_UNAVAILABLE) no daemon to talk to. */
export const NO_DAEMON = 69;

export async function checkDaemon(socketPath: string): Promise<boolean> {
  return socketIsLive(socketPath);
}

/**
 * Bridges until either side ends. Resolves to the exit code. Nothing but the daemon's bytes is
 * ever written to stdout; diagnostics go to stderr.
 */
export function runConnect(
  socketPath: string,
  stdin: NodeJS.ReadableStream = process.stdin,
  stdout: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  return new Promise((resolve) => {
    const sock = net.connect(socketPath);
    let connected = false;
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      resolve(code);
    };
    sock.once('connect', () => {
      connected = true;
      stdin.pipe(sock);
      sock.pipe(stdout, { end: false });
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) {
        const why =
          err.code === 'EACCES'
            ? `this user may not connect to ${socketPath}; join its group (usermod -aG brain $USER, then log in again)`
            : `no brain serve answers on ${socketPath} (${err.code ?? err.message}); start it (systemctl start brain) or run brain without connect`;
        process.stderr.write(`brain connect: ${why}\n`);
        finish(NO_DAEMON);
      } else {
        process.stderr.write(`brain connect: connection to brain serve lost (${err.code ?? err.message})\n`);
      }
    });
    // The daemon went away (stopped, restarted): the client sees its server exit, as with stdio.
    sock.on('close', () => finish(connected ? 0 : NO_DAEMON));
    // The client closed our stdin: tell the daemon we are done, and leave once it has closed.
    stdin.on('end', () => sock.end());
    stdout.on('error', () => sock.destroy());
  });
}
