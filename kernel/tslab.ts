import { createRequire } from 'module';
import type { DisplayDataContent } from './message-contents';

/**
 * The pieces of tslab (pinned in package.json) the kernel reuses: the
 * executor, the converter and the TypeScript build they share. tslab has no
 * `exports` map, so deep imports are stable for the pinned version. Its own
 * protocol layer (`dist/jupyter`) is not used for serving, only as the place
 * its public `display` API looks up the output function.
 */
const req = createRequire(require.resolve('tslab/package.json'));

export const tslabExecutor: typeof import('tslab/dist/executor') = req('./dist/executor');
export const tslabConverter: typeof import('tslab/dist/converter') = req('./dist/converter');
export const tslabInspect: typeof import('tslab/dist/inspect') = req('./dist/inspect');
/** Module whose `lastWriteDisplayData` tslab's `display.*` functions call. */
export const tslabJupyter: { lastWriteDisplayData: ((data: DisplayDataContent, update: boolean) => void) | null } = req('./dist/jupyter');
/** The TypeScript build tslab ships (its own fork, the one its converter type-checks with). */
export const tsForTslab: typeof import('@tslab/typescript-for-tslab') = createRequire(require.resolve('tslab/dist/converter'))('@tslab/typescript-for-tslab');
export const tslabVersion: string = req('./package.json').version;
