// Checks both HTTP ports share: the bearer token, the Host a request was sent to, and a record of
// every request refused (a log line without the token, and brain_http_refused_total). A web page
// the person visits can make their browser send requests to 127.0.0.1 under a name it controls
// (DNS rebinding); only the Host header tells such a request apart, so it is checked first.
import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { isIP } from 'node:net';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * Which of `tokens` the request's `Authorization: Bearer` header carries, as a fingerprint (a
 * hash, so the token itself is kept in one place only), or undefined.
 */
export function bearerFingerprint(header: string | undefined, tokens: readonly string[]): string | undefined {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return undefined;
  const given = Buffer.from(m[1]);
  for (const token of tokens) {
    const want = Buffer.from(token);
    // Every token is compared in full (no early exit on length alone leaks which one nearly matched).
    if (given.length === want.length && timingSafeEqual(given, want)) return createHash('sha256').update(token).digest('hex').slice(0, 16);
  }
  return undefined;
}

/** The Host values a loopback server on `port` answers to: its own address and the loopback names. */
export function loopbackHosts(host: string, port: number): Set<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  const own = isIP(bare) === 6 ? `[${bare}]` : bare;
  return new Set([`${own}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]);
}

/**
 * Whether a Host header is one of `allowed`, or (with `anyAddress`) any IP address with the
 * right port: a browser can only be rebound through a name it looked up, never through an
 * address literal, so remote scrapers that use the address stay welcome.
 */
export function hostAllowed(host: string | undefined, allowed: Set<string>, port: number, anyAddress = false): boolean {
  if (!host) return false;
  if (allowed.has(host)) return true;
  if (!anyAddress) return false;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d+)$/.exec(host);
  return !!m && Number(m[3]) === port && isIP(m[1] ?? m[2]) !== 0;
}

export type RefusalReason = 'token' | 'host' | 'origin' | 'browser' | 'session' | 'size' | 'busy';

/**
 * Counts every refusal and logs them as warnings, at most one line per reason and second (a
 * page in a loop must not flood the log); the next line says how many were not logged.
 */
export function refusalRecorder(logger: Logger, metrics: Metrics | undefined, port: 'mcp' | 'ops', now: () => number = Date.now) {
  const last = new Map<RefusalReason, { at: number; quiet: number }>();
  return (reason: RefusalReason, req: http.IncomingMessage, status: number) => {
    metrics?.httpRefused.inc({ port, reason });
    const t = now();
    const seen = last.get(reason);
    if (seen && t - seen.at < 1000) {
      seen.quiet++;
      return;
    }
    last.set(reason, { at: t, quiet: 0 });
    // Never the Authorization header: only whether there was one.
    logger.warn(`HTTP request refused (${reason})`, {
      port,
      status,
      method: req.method,
      path: (req.url ?? '').split('?')[0].slice(0, 200),
      host: req.headers.host?.slice(0, 200),
      ...(req.headers.origin ? { origin: req.headers.origin.slice(0, 200) } : {}),
      authorization: req.headers.authorization === undefined ? 'none' : 'given',
      remote: req.socket.remoteAddress,
      ...(seen?.quiet ? { not_logged_since: seen.quiet } : {}),
    });
  };
}
