// An MCP transport over one stream socket (a Unix socket connection to `brain serve`), with the
// same newline-delimited JSON framing as stdio, so `brain connect` can splice stdio onto it byte
// for byte. Works on either end: the daemon wraps each accepted connection, clients wrap theirs.
import type { Socket } from 'node:net';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export class SocketTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly buffer = new ReadBuffer();
  private started = false;
  private closed = false;

  constructor(private readonly socket: Socket) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('SocketTransport already started');
    this.started = true;
    this.socket.on('data', (chunk: Buffer) => {
      try {
        this.buffer.append(chunk);
      } catch (err) {
        // One line over the buffer limit: this peer is broken or hostile; drop it.
        this.onerror?.(err as Error);
        this.socket.destroy();
        return;
      }
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (err) {
          this.onerror?.(err as Error);
          continue;
        }
        if (message === null) break;
        this.onmessage?.(message);
      }
    });
    // A peer that vanishes (ECONNRESET, EPIPE) is a close, not a crash.
    this.socket.on('error', (err) => this.onerror?.(err));
    this.socket.on('close', () => this.finish());
  }

  send(message: JSONRPCMessage): Promise<void> {
    // A reply to a client that already left goes nowhere; that must not fail the handler.
    if (this.closed || this.socket.destroyed || !this.socket.writable) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.socket.write(serializeMessage(message))) resolve();
      else {
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.once('drain', done);
        this.socket.once('close', done);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.socket.end();
    // end() flushes what is queued; a peer that never reads must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.finish();
  }

  private finish() {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    this.onclose?.();
  }
}
