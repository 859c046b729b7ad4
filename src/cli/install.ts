import type { Command } from 'commander';

/** `install` / `uninstall`: kernelspec and prebuilt lab extension (kernel issue). */
export function registerInstallCommands(_program: Command): void {}
