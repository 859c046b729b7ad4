import type { Command } from 'commander';

/** `lab`: start a notebook environment with our kernel and extension (extension issue). */
export function registerLabCommand(_program: Command): void {}
