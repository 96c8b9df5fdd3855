/**
 * The errors the migration and restore stop with. Each names what it is about
 * and what to do; `kind` lets callers (tasks, tests) branch without parsing
 * the message.
 *
 * @module
 */

/** Why a migration or restore stopped. */
export type MigrationErrorKind =
  | "source-table-missing"
  | "target-table-missing"
  | "wrong-key-schema"
  | "backup-exists"
  | "backup-path"
  | "backup-malformed"
  | "backup-mismatch"
  | "transform"
  | "key-missing"
  | "retries-exhausted"
  | "pool"
  | "usage";

/** A failure that stops a migration or restore before (or instead of) a bad write. */
export class MigrationError extends Error {
  /** What kind of failure this is. */
  readonly kind: MigrationErrorKind;

  /** Builds the error; `message` is shown to the operator as is. */
  constructor(kind: MigrationErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
    this.kind = kind;
  }
}
