// Scheduling for background work that comes in slices (the recall index, the word list).

/**
 * Runs `work` after `delayMs`, or with 0 at the next turn of the event loop (after pending I/O
 * such as a client's call, so a call waits for one slice at most). Returns a function that
 * cancels it. A delayed run does not keep the process alive; a next-turn run does, because an
 * unref'd immediate waits for some other event to wake the loop (an idle process would stall).
 */
export function runLater(delayMs: number, work: () => void): () => void {
  if (delayMs > 0) {
    const timer = setTimeout(work, delayMs).unref();
    return () => clearTimeout(timer);
  }
  const immediate = setImmediate(work);
  return () => clearImmediate(immediate);
}
