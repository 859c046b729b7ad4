import type { StatusName } from 'covalent-ts-protocol';

/**
 * A glyph per status, so status never depends on colour alone (the text label
 * is shown beside it as well). Which statuses are final, and when a node can be
 * cancelled, is the protocol's status model (`covalent-ts-protocol`).
 */
export const STATUS_GLYPH: Record<StatusName, string> = {
  NEW_OBJECT: '○',
  QUEUED: '◷',
  RUNNING: '▶',
  CANCELLING: '◐',
  COMPLETED: '✓',
  FAILED: '✗',
  CANCELLED: '⊘'
};
