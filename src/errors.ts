/**
 * Programmer and configuration errors, with stable codes (see docs/errors.md). Wire-level refusals
 * are not these: they are reply codes (`node/errors.ts`) and close codes (`protocol/codes.ts`).
 */
export const BARRAGE_ERRORS = {
  BARRAGE_ERR_CONFIG: 'an option has a bad value',
  BARRAGE_ERR_JWT_KEY: 'the JWT public key cannot be read or is of an unsupported type',
  BARRAGE_ERR_LISTEN: 'the server could not listen on the address',
  BARRAGE_ERR_STORE:
    'the store cannot be opened: data directory in use, foreign or corrupt file, unreachable database, or a newer schema',
} as const;

/** One of the error codes above. */
export type BarrageErrorCode = keyof typeof BARRAGE_ERRORS;

/** An error of the catalogue: `code` says what, `message` says which and how to fix it. */
export class BarrageError extends Error {
  constructor(
    readonly code: BarrageErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'BarrageError';
  }
}
