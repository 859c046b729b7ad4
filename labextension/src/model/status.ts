import type { StatusName } from '../../../src/protocol/messages';

/** Statuses after which a node can no longer be cancelled or change. */
export const TERMINAL_STATUSES: ReadonlySet<StatusName> = new Set<StatusName>([
  'COMPLETED',
  'FAILED',
  'CANCELLED'
]);

export function isTerminal(status: StatusName): boolean {
  return TERMINAL_STATUSES.has(status);
}

/**
 * A glyph per status, so status never depends on colour alone (the text label
 * is shown beside it as well).
 */
export const STATUS_GLYPH: Record<StatusName, string> = {
  NEW_OBJECT: '○',
  QUEUED: '⧗',
  RUNNING: '▶',
  CANCELLING: '◐',
  COMPLETED: '✓',
  FAILED: '✗',
  CANCELLED: '⊘'
};
