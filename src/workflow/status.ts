/**
 * Lifecycle of a task (node) and of a dispatch.
 *
 * NEW_OBJECT -> RUNNING -> COMPLETED | FAILED
 *            \-> CANCELLED            (aborted before it started)
 * RUNNING   <-> QUEUED                 (submitted; the resource has not started it)
 * RUNNING | QUEUED -> CANCELLING -> CANCELLED (kill in flight, then done)
 * CANCELLING stays while a kill is unconfirmed; a retried cancel moves it on.
 *
 * Terminal states never change again.
 */
export const Status = {
  NEW_OBJECT: 'NEW_OBJECT',
  RUNNING: 'RUNNING',
  QUEUED: 'QUEUED',
  CANCELLING: 'CANCELLING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;

export type Status = (typeof Status)[keyof typeof Status];

const TERMINAL: ReadonlySet<string> = new Set([Status.COMPLETED, Status.FAILED, Status.CANCELLED]);

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

/**
 * A dispatch's status once every task is terminal (null while one is not):
 * FAILED if any task failed, else CANCELLED if any was cancelled, else COMPLETED.
 */
export function dispatchStatusOf(taskStatuses: readonly string[]): Status | null {
  if (!taskStatuses.every(isTerminal)) return null;
  if (taskStatuses.includes(Status.FAILED)) return Status.FAILED;
  if (taskStatuses.includes(Status.CANCELLED)) return Status.CANCELLED;
  return Status.COMPLETED;
}
