import type { Command } from 'commander';

/** `cancel`: cancel a dispatch or tasks from another process (core). */
export function registerCancelCommand(_program: Command): void {}
