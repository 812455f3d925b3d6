// What lets a Streamable HTTP client resume a dropped stream (a long `execute` whose connection
// broke): every message sent on an SSE stream is kept here for a while under an event id, and a
// client that reconnects with `Last-Event-ID` gets the ones it missed. Bounded in size and in
// time, shared by all sessions; each session sees only its own events, so an event id from one
// session replays nothing in another.
import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface EventStoreLimits {
  /** Bytes of kept messages across all sessions; the oldest go first. */
  maxBytes: number;
  /** How long a message can be resumed after it was sent. */
  maxAgeMs: number;
}

export const DEFAULT_EVENT_LIMITS: EventStoreLimits = { maxBytes: 16 * 1024 * 1024, maxAgeMs: 5 * 60_000 };

interface Kept {
  owner: number;
  stream: StreamId;
  message: JSONRPCMessage;
  bytes: number;
  at: number;
}

export interface SessionEventStore extends EventStore {
  /** Forgets this session's events (it ended). */
  drop(): void;
}

export interface EventStores {
  forSession(): SessionEventStore;
  /** Messages and bytes kept now (for tests and metrics). */
  size(): { events: number; bytes: number };
}

export function createEventStores(limits: EventStoreLimits = DEFAULT_EVENT_LIMITS, now: () => number = Date.now): EventStores {
  // A Map iterates in insertion order, which is event order: the oldest are first.
  const kept = new Map<EventId, Kept>();
  let bytes = 0;
  let seq = 0;
  let owners = 0;

  function forget(id: EventId, e: Kept) {
    kept.delete(id);
    bytes -= e.bytes;
  }

  function prune() {
    const cutoff = now() - limits.maxAgeMs;
    for (const [id, e] of kept) {
      if (bytes <= limits.maxBytes && e.at >= cutoff) break;
      forget(id, e);
    }
  }

  return {
    forSession() {
      const owner = ++owners;
      const mine = (id: EventId) => {
        prune();
        const e = kept.get(id);
        return e && e.owner === owner ? e : undefined;
      };
      return {
        async storeEvent(stream, message) {
          const id = String(++seq);
          // Priming events carry an empty message: they only hand the client a first id.
          const size = 'jsonrpc' in message ? Buffer.byteLength(JSON.stringify(message)) : 0;
          kept.set(id, { owner, stream, message, bytes: size, at: now() });
          bytes += size;
          prune();
          return id;
        },
        async getStreamIdForEventId(id) {
          return mine(id)?.stream;
        },
        async replayEventsAfter(lastEventId, { send }) {
          const last = mine(lastEventId);
          if (!last) throw new Error(`event ${lastEventId} is unknown or expired`);
          let after = false;
          for (const [id, e] of [...kept]) {
            if (id === lastEventId) after = true;
            else if (after && e.owner === owner && e.stream === last.stream && 'jsonrpc' in e.message) await send(id, e.message);
          }
          return last.stream;
        },
        drop() {
          for (const [id, e] of kept) if (e.owner === owner) forget(id, e);
        },
      };
    },
    size: () => ({ events: kept.size, bytes }),
  };
}
