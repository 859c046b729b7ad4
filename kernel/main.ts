#!/usr/bin/env node
/**
 * Kernel entry point, started by Jupyter from the kernelspec:
 *   node <package>/dist/kernel/main.js {connection_file}
 */
import { readConnectionFile } from './connection';
import { Kernel } from './kernel';
import { watchParents } from '../src/process/parent-watch';

async function main(argv: string[]): Promise<void> {
  const file = argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/kernel/main.js CONNECTION_FILE\n');
    process.exit(2);
  }
  const kernel = new Kernel(readConnectionFile(file), { cwd: process.cwd() });
  await kernel.start();
  // Like ipykernel's parent poller: a kernel whose Jupyter server died (even by
  // SIGKILL) shuts down, taking its task workers with it, instead of running on.
  if (process.env.JPY_PARENT_PID) watchParents(() => void kernel.shutdown());
}

main(process.argv).catch((e) => {
  process.stderr.write(`covalent-ts kernel failed to start: ${e?.stack ?? e}\n`);
  process.exit(1);
});
