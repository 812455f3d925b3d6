// Refusing new MCP sessions (maintenance mode) at the protocol level: the client's `initialize`
// gets a JSON-RPC error carrying the reason, so the person sees why instead of a dropped pipe.
// Sessions that are already open keep working.
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * JSON-RPC server error code brain uses for "not accepting sessions now": from the range JSON-RPC
 * leaves to servers, and not one the MCP SDK gives a meaning (-32001 is its RequestTimeout, which
 * clients may retry at once or report as a timeout).
 */
export const SESSION_REFUSED = -32010;

/**
 * Wraps a transport so that an `initialize` request is answered with an error when `refusal()`
 * returns a reason. Everything else passes through unchanged.
 */
export function gateSessions(inner: Transport, refusal: () => string | undefined): Transport {
  const outer: Transport = {
    start: () => inner.start(),
    send: (message, options) => inner.send(message, options),
    close: () => inner.close(),
  };
  inner.onclose = () => outer.onclose?.();
  inner.onerror = (error) => outer.onerror?.(error);
  inner.onmessage = (message: JSONRPCMessage, extra) => {
    if ('method' in message && message.method === 'initialize' && 'id' in message) {
      const reason = refusal();
      if (reason) {
        void inner
          .send({ jsonrpc: '2.0', id: message.id, error: { code: SESSION_REFUSED, message: reason } })
          .finally(() => void inner.close());
        return;
      }
    }
    outer.onmessage?.(message, extra);
  };
  return outer;
}
