// An MCP transport over one stream socket (a Unix socket connection to `brain serve`), with the
// same newline-delimited JSON framing and the same answers to bad input as stdio, so `brain
// connect` can splice stdio onto it byte for byte. Works on either end: the daemon wraps each
// accepted connection, clients wrap theirs.
import type { Socket } from 'node:net';
import { LineTransport, type LineTransportOptions } from './line-transport.js';

export class SocketTransport extends LineTransport {
  constructor(
    private readonly socket: Socket,
    opts: LineTransportOptions = {},
  ) {
    super(socket, socket, { ...opts, endOutput: true });
  }

  override async close(): Promise<void> {
    // end() flushes what is queued; a peer that never reads must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.finish();
  }
}
