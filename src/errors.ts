/**
 * An error a user can act on: a stable `code` (TRIBUTARY_*) to search for, and a message that names
 * what was wrong and how to fix it. The CLI prints these without a stack trace.
 */
export class TributaryError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "TributaryError";
  }
}
