import { CommanderError } from 'commander';
import { CtError, ErrorCodes, type ErrorCode } from '../errors';

/**
 * Exit codes of every `covalent-ts` command, documented in `--help`.
 * Scripts branch on them, so they never change meaning.
 */
export const ExitCodes = {
  /** Done; for `cancel`: every task is stopped. */
  OK: 0,
  /** Something failed that was not the caller's input (a store that cannot be read, a host that cannot be reached). */
  ERROR: 1,
  /** Bad input: unknown flag, missing argument, bad or ambiguous id, unreadable file. Nothing was changed. */
  BAD_INPUT: 2,
  /** `cancel`: a kill could not be confirmed; the job may still be running (and costing money). */
  KILL_UNCONFIRMED: 3,
} as const;

/** Error codes that mean the caller's input was wrong (exit 2). */
const BAD_INPUT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.INVALID_ARGUMENT,
  ErrorCodes.UNKNOWN_DISPATCH,
  ErrorCodes.UNKNOWN_TASK,
  ErrorCodes.UNKNOWN_EXECUTOR,
  ErrorCodes.AMBIGUOUS_ID,
  ErrorCodes.UNREADABLE_FILE,
  ErrorCodes.READ_ONLY,
  ErrorCodes.CREDENTIALS_REQUIRED,
]);

/** How a failed command is told: one line on stderr with the code, and the exit code. */
export interface CliFailure {
  message: string;
  code: ErrorCode;
  exitCode: number;
}

/**
 * The one translation from a thrown error to what the user sees. Errors
 * of the argument parser (commander) are bad input like any other, so they
 * carry CT_INVALID_ARGUMENT and exit 2.
 */
export function cliFailure(error: unknown): CliFailure | null {
  if (error instanceof CommanderError) {
    // Help or version asked for (exit 0), or help shown because a command is missing.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return null;
    if (error.code === 'commander.help') {
      return error.exitCode === 0 ? null : { message: `a command is required; see the list above.`, code: ErrorCodes.INVALID_ARGUMENT, exitCode: ExitCodes.BAD_INPUT };
    }
    const said = error.message.replace(/^error: /, '');
    const command = (error as { commandPath?: string }).commandPath ?? 'covalent-ts';
    return { message: `${said} (see \`${command} --help\` for usage and examples)`, code: ErrorCodes.INVALID_ARGUMENT, exitCode: ExitCodes.BAD_INPUT };
  }
  if (error instanceof CtError) {
    return { message: error.message, code: error.code, exitCode: BAD_INPUT_CODES.has(error.code) ? ExitCodes.BAD_INPUT : ExitCodes.ERROR };
  }
  const e = error as { message?: string } | null;
  return { message: `unexpected error: ${e?.message ?? String(error)}`, code: ErrorCodes.INTERNAL, exitCode: ExitCodes.ERROR };
}

/** Text for `--help`: the exit codes, so scripts can rely on them. */
export const EXIT_CODES_HELP = `Exit codes:
  0  done (cancel: every task is stopped)
  1  other errors (store, network, executor)
  2  bad input: unknown flag, missing argument, bad or ambiguous id, unreadable file
  3  cancel: a kill could not be confirmed (the job may still run)`;
