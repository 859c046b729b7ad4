import { createRequire } from 'module';

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
export const tslabInspect: { printQuickInfo(info: any): string } = req('./dist/inspect');
/** Module whose `lastWriteDisplayData` tslab's `display.*` functions call. */
export const tslabJupyter: { lastWriteDisplayData: ((data: any, update: boolean) => void) | null } = req('./dist/jupyter');
export const tsForTslab: any = createRequire(require.resolve('tslab/dist/converter'))('@tslab/typescript-for-tslab');
export const tslabVersion: string = req('./package.json').version;
