import type { CancelOutcome, CancelReportData, CancelSource, CancelTaskReport } from '../protocol/messages';

/**
 * What a cancel request did, task by task. `confirmed` is true only when
 * every affected task was stopped before it started, killed with the
 * executor's confirmation, or had already finished: `ct.cancel` never
 * claims a success it did not get.
 */
export class CancelReport implements CancelReportData {
  readonly dispatchId: string;
  readonly requestedAt: string;
  readonly completedAt: string;
  readonly reason: string | null;
  readonly source: CancelSource;
  readonly requestedTaskIds: number[] | null;
  readonly tasks: CancelTaskReport[];
  readonly confirmed: boolean;
  readonly summary: string;

  constructor(data: Omit<CancelReportData, 'confirmed' | 'summary'>) {
    this.dispatchId = data.dispatchId;
    this.requestedAt = data.requestedAt;
    this.completedAt = data.completedAt;
    this.reason = data.reason;
    this.source = data.source;
    this.requestedTaskIds = data.requestedTaskIds;
    this.tasks = data.tasks;
    this.confirmed = data.tasks.every((t) => t.outcome !== 'kill_unconfirmed');
    this.summary = summarize(this.tasks, this.dispatchId);
  }

  /** Tasks with a given outcome. */
  withOutcome(outcome: CancelOutcome): CancelTaskReport[] {
    return this.tasks.filter((t) => t.outcome === outcome);
  }

  toJSON(): CancelReportData {
    return {
      dispatchId: this.dispatchId,
      requestedAt: this.requestedAt,
      completedAt: this.completedAt,
      reason: this.reason,
      source: this.source,
      requestedTaskIds: this.requestedTaskIds,
      tasks: this.tasks,
      confirmed: this.confirmed,
      summary: this.summary,
    };
  }

  toString(): string {
    const lines = [this.summary];
    for (const t of this.tasks) {
      const via = t.downstreamOf ? ` (downstream of ${t.downstreamOf.join(', ')})` : '';
      lines.push(`  task ${t.nodeId} ${t.name}: ${OUTCOME_TEXT[t.outcome]}, ${t.statusAfter}${via}${t.detail ? ` - ${t.detail}` : ''}`);
    }
    return lines.join('\n');
  }
}

const OUTCOME_TEXT: Record<CancelOutcome, string> = {
  aborted_before_start: 'aborted before it started',
  killed: 'killed while running (confirmed)',
  kill_unconfirmed: 'kill NOT confirmed',
  already_finished: 'had already finished',
};

function summarize(tasks: CancelTaskReport[], dispatchId: string): string {
  const count = (o: CancelOutcome) => tasks.filter((t) => t.outcome === o).length;
  const parts = [
    `${count('aborted_before_start')} aborted before start`,
    `${count('killed')} killed`,
    `${count('already_finished')} already finished`,
  ];
  const unconfirmed = count('kill_unconfirmed');
  if (unconfirmed) parts.push(`${unconfirmed} NOT confirmed stopped`);
  return `Cancel of dispatch ${dispatchId}: ${parts.join(', ')}.`;
}
