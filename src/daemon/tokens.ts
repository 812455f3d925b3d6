// The bearer tokens brain accepts on HTTP (MCP over Streamable HTTP, and the ops port's admin
// actions): BRAIN_HTTP_TOKEN, and every line of BRAIN_HTTP_TOKEN_FILE (one per client, so one
// client's token can be revoked without the others; blank lines and "#" comments are skipped).
import fs from 'node:fs';
import type { Config } from '../core/config.js';
import { DaemonStartError } from './unix-socket.js';

/** The same minimum the config applies to BRAIN_HTTP_TOKEN. */
const MIN_TOKEN_CHARS = 16;

/** Every configured token; none when neither variable is set. Throws DaemonStartError for an unreadable file or a short token. */
export function readTokens(config: Pick<Config, 'httpToken' | 'httpTokenFile'>): string[] {
  const tokens = config.httpToken ? [config.httpToken] : [];
  if (!config.httpTokenFile) return tokens;
  let text: string;
  try {
    text = fs.readFileSync(config.httpTokenFile, 'utf8');
  } catch (err) {
    throw new DaemonStartError(`cannot read BRAIN_HTTP_TOKEN_FILE ${config.httpTokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (!lines.length) throw new DaemonStartError(`BRAIN_HTTP_TOKEN_FILE ${config.httpTokenFile} holds no token; put a long random token in it (openssl rand -hex 32)`);
  const short = lines.findIndex((l) => l.length < MIN_TOKEN_CHARS);
  if (short !== -1) {
    throw new DaemonStartError(`BRAIN_HTTP_TOKEN_FILE ${config.httpTokenFile}: token ${short + 1} holds fewer than ${MIN_TOKEN_CHARS} characters; put a long random token in it (openssl rand -hex 32)`);
  }
  return [...tokens, ...lines];
}
