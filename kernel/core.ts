import * as path from 'path';
import type { CancelReportData, CancelSource, DispatchSnapshot, DispatchSummary } from '../src/protocol';
import type { DispatcherEventMap, DispatcherEventName } from '../src/dispatcher/events';
import type { OrphanReport } from '../src/dispatcher/orphans';

/**
 * What the kernel needs from the core library's dispatcher. The kernel reaches
 * the process-wide dispatcher through the library's `getDispatcher()` (a
 * singleton under a global symbol, so a cell's `import 'covalent-ts'` sees
 * the same one), and depends only on this narrow port.
 */
export interface DispatcherPort {
  /** Snapshot of a live or stored dispatch (rejects with CT_UNKNOWN_DISPATCH). */
  snapshot(dispatchId: string): Promise<DispatchSnapshot>;
  /** Snapshot of a dispatch running in this process, synchronously; undefined otherwise. */
  liveSnapshot(dispatchId: string): DispatchSnapshot | undefined;
  /** Resolves once every fact the dispatcher journaled so far is on disk (show nothing before it is). */
  whenDurable?(): Promise<void>;
  listDispatches(): DispatchSummary[];
  /** Unfinished dispatches of the store whose process is gone, with the last known state of their jobs. */
  orphans(): Promise<OrphanReport[]>;
  cancel(
    dispatchId: string,
    options: { taskIds?: number[]; reason?: string; source: CancelSource },
  ): Promise<{ toJSON(): CancelReportData } | CancelReportData>;
  on<K extends DispatcherEventName>(event: K, listener: (e: DispatcherEventMap[K]) => void): unknown;
  off<K extends DispatcherEventName>(event: K, listener: (e: DispatcherEventMap[K]) => void): unknown;
}

/** What the kernel calls of the library's entry point (src/index.ts). */
interface LibraryEntry {
  getDispatcher(): DispatcherPort;
  shutdown(): Promise<void>;
}

/** The library's entry point, loaded on first use (keeps kernel start fast). */
export function loadLibrary(): LibraryEntry {
  return require(path.join(__dirname, '..', 'src', 'index'));
}

/** True once anything (the kernel or a cell) loaded the library. */
export function libraryLoaded(): boolean {
  return require.cache[require.resolve(path.join(__dirname, '..', 'src', 'index'))] !== undefined;
}

/** Flushes the store and stops worker processes, if the library was ever used. */
export async function shutdownLibrary(): Promise<void> {
  if (libraryLoaded()) await loadLibrary().shutdown();
}

export function getDispatcher(): DispatcherPort {
  return loadLibrary().getDispatcher();
}

export function reportData(r: { toJSON(): CancelReportData } | CancelReportData): CancelReportData {
  return isSerializable(r) ? r.toJSON() : r;
}

function isSerializable(r: { toJSON(): CancelReportData } | CancelReportData): r is { toJSON(): CancelReportData } {
  return typeof (r as Partial<{ toJSON: unknown }>).toJSON === 'function';
}
