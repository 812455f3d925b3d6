// Warnings an open session should see (the sandbox is unavailable, a note file could not be parsed,
// maintenance mode was announced), sent to clients as MCP `notifications/message` at or above the
// level each chose with logging/setLevel. Areas and the daemon publish here with plain functions:
// they never touch the SDK and need not know which sessions are open (core/server.ts subscribes
// each session once its client has said `initialized`).

/** MCP's log levels (RFC 5424 severities), least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function severity(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}

export interface Notice {
  level: LogLevel;
  message: string;
  data?: Record<string, unknown>;
}

export type Publish = (level: LogLevel, message: string, data?: Record<string, unknown>) => void;

/** One-off notices sent per minute at most; past it, one line says the rest are in the log. */
export const NOTICES_PER_MINUTE = 20;

export interface NoticeBoard {
  /** Sends to every open session now. */
  publish: Publish;
  /**
   * A standing condition under `key` (e.g. the sandbox is unavailable): sent now, and again to
   * every session that opens while it lasts. `undefined` ends it.
   */
  standing(key: string, notice: Notice | undefined): void;
  /** A session's listener (core/server.ts). Standing notices reach it at once. Returns the unsubscribe. */
  subscribe(listener: (notice: Notice) => void): () => void;
}

export function createNoticeBoard(now: () => number = Date.now): NoticeBoard {
  const listeners = new Set<(notice: Notice) => void>();
  const standing = new Map<string, Notice>();
  let windowStart = 0;
  let sent = 0;

  function deliver(notice: Notice) {
    for (const listener of listeners) {
      try {
        listener(notice);
      } catch {
        // A session that cannot take a notice (closing) must not keep it from the others.
      }
    }
  }

  return {
    publish(level, message, data) {
      const t = now();
      if (t - windowStart >= 60_000) {
        windowStart = t;
        sent = 0;
      }
      sent++;
      if (sent <= NOTICES_PER_MINUTE) deliver({ level, message, data });
      else if (sent === NOTICES_PER_MINUTE + 1) {
        deliver({ level: 'warning', message: `brain has more warnings than it sends in a minute (${NOTICES_PER_MINUTE}); the rest are in its log and events.` });
      }
    },
    standing(key, notice) {
      if (!notice) return void standing.delete(key);
      standing.set(key, notice);
      deliver(notice);
    },
    subscribe(listener) {
      listeners.add(listener);
      for (const notice of standing.values()) listener(notice);
      return () => void listeners.delete(listener);
    },
  };
}
