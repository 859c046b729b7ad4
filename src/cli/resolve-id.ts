import { ErrorCodes, InvalidInputError } from '../errors';

/**
 * The dispatch an id or a unique prefix of one names. Every command that
 * takes an id goes through here, so a prefix works everywhere and a mistake
 * reads the same everywhere.
 */
export function resolveDispatchId(text: string, ids: Iterable<string>, where: string): string {
  const wanted = text.trim().toLowerCase();
  if (!wanted) throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, 'The dispatch id is empty; give the id (or a unique prefix) that `covalent-ts list` shows.');
  const matches: string[] = [];
  for (const id of ids) {
    if (id === text) return id;
    if (id.toLowerCase().startsWith(wanted)) matches.push(id);
  }
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    throw new InvalidInputError(
      ErrorCodes.UNKNOWN_DISPATCH,
      `No dispatch with id "${text}" in the store at ${where}. Run \`covalent-ts list\` to see the dispatches there, or set CT_HOME to the store it was dispatched with.`,
      { details: { dispatchId: text } },
    );
  }
  const shown = matches.slice(0, 5).join(', ');
  throw new InvalidInputError(
    ErrorCodes.AMBIGUOUS_ID,
    `"${text}" is the start of ${matches.length} dispatch ids (${shown}${matches.length > 5 ? ', ...' : ''}); give more characters.`,
    { details: { prefix: text, matches: matches.slice(0, 20) } },
  );
}
