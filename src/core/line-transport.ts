// MCP over newline-delimited JSON on a pair of streams: stdin/stdout in embedded mode, one Unix
// socket connection to `brain serve`. Unlike the SDK's stdio transport, bad input never ends the
// session or goes unanswered: a line that is not JSON, not a valid request, or over the 10 MB
// limit gets the JSON-RPC error for it (matched to its id when one can be read), is logged, and
// the next line is read as usual. An over-long line is skipped as it streams, never held whole.
import type { Readable, Writable } from 'node:stream';
import { ErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { checkText, errorReply, MAX_MESSAGE_BYTES } from './jsonrpc.js';
import { RequestIdScanner } from './request-id-scanner.js';

export interface LineTransportOptions {
  /** Told about input that was refused or dropped, in a sentence (for the log). */
  onProblem?: (problem: string) => void;
  /** Default 10 MB (MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
  /** The input comes from a client: parameters of known methods are checked as well (default true). */
  server?: boolean;
  /** Ends the output stream on close (a socket); stdout is left to the process. */
  endOutput?: boolean;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly max: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Set while an over-long line streams past: what is needed to answer it, and its size so far. */
  private skipping: { scanner: RequestIdScanner; bytes: number } | undefined;
  private started = false;
  private closed = false;

  constructor(
    protected readonly input: Readable,
    protected readonly output: Writable,
    private readonly opts: LineTransportOptions = {},
  ) {
    this.max = opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  }

  private readonly onData = (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(0x0a, start);
      this.take(buf, start, nl === -1 ? buf.length : nl);
      if (nl === -1) break;
      this.endLine();
      start = nl + 1;
    }
  };
  private readonly onEnd = () => void this.finish();
  private readonly onInputError = (err: Error) => this.onerror?.(err);
  private readonly onOutputError = (err: Error) => {
    // A client that went away (EPIPE, ECONNRESET) ends the session; it is not a crash.
    this.onerror?.(err);
    this.finish();
  };

  async start(): Promise<void> {
    if (this.started) throw new Error('LineTransport already started');
    this.started = true;
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('close', this.onEnd);
    this.input.on('error', this.onInputError);
    this.output.on('error', this.onOutputError);
  }

  private take(buf: Buffer, start: number, end: number) {
    if (end <= start) return;
    if (this.skipping) {
      this.skipping.scanner.push(buf, start, end);
      this.skipping.bytes += end - start;
      return;
    }
    if (this.pendingBytes + (end - start) <= this.max) {
      this.pending.push(buf.subarray(start, end));
      this.pendingBytes += end - start;
      return;
    }
    // Over the limit: from here on the line is only scanned for its id, then dropped.
    const scanner = new RequestIdScanner();
    for (const part of this.pending) scanner.push(part);
    scanner.push(buf, start, end);
    this.skipping = { scanner, bytes: this.pendingBytes + end - start };
    this.pending = [];
    this.pendingBytes = 0;
  }

  private endLine() {
    if (this.skipping) {
      const { scanner, bytes } = this.skipping;
      this.skipping = undefined;
      const id = scanner.id();
      const problem = `A message of ${megabytes(bytes)} is over brain's limit of ${megabytes(this.max)} per JSON-RPC message, so none of it was read. Send large content in parts (e.g. several calls), or put it in a note file.`;
      this.opts.onProblem?.(`refused a JSON-RPC message of ${bytes} bytes (limit ${this.max})${id === undefined ? '' : ` with id ${JSON.stringify(id)}`}`);
      if (id !== undefined && scanner.hasMethod()) void this.send(errorReply(id, ErrorCode.InvalidRequest, problem));
      return;
    }
    if (!this.pendingBytes) return;
    let line = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!line.trim()) return;
    const checked = checkText(line, this.opts.server ?? true);
    if (checked.message) {
      this.onmessage?.(checked.message);
      return;
    }
    this.opts.onProblem?.(checked.problem);
    if (checked.reply) void this.send(checked.reply);
  }

  send(message: JSONRPCMessage): Promise<void> {
    // A reply to a client that already left goes nowhere; that must not fail the handler.
    if (this.closed || this.output.destroyed || !this.output.writable) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.output.write(JSON.stringify(message) + '\n')) return resolve();
      const done = () => {
        this.output.off('drain', done);
        this.output.off('close', done);
        resolve();
      };
      this.output.once('drain', done);
      this.output.once('close', done);
    });
  }

  async close(): Promise<void> {
    this.finish();
  }

  /** Stops reading and tells the session once, whichever side ended first. */
  protected finish() {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    this.input.off('error', this.onInputError);
    this.pending = [];
    this.skipping = undefined;
    if (this.opts.endOutput) this.output.end();
    this.onclose?.();
  }
}
