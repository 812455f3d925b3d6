// Errors the person or the assistant can fix. The tool wrapper turns these into `isError: true`
// results carrying the message; anything else is logged with its stack and reported generically.

export class UserError extends Error {
  override name = 'UserError';
}

/** Something asked for does not exist (a key, an id, a project). */
export class NotFoundError extends UserError {
  override name = 'NotFoundError';
}

/** The request conflicts with what is stored (a name taken, a file changed underneath). */
export class ConflictError extends UserError {
  override name = 'ConflictError';
}

/** Raised when a feature cannot run on this host; the message says what to install or change. */
export class UnavailableError extends UserError {
  override name = 'UnavailableError';
}
