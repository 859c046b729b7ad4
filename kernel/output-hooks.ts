import { inspect } from 'util';
import type { Header } from './message';
import type { KernelSocketServer } from './socket-server';
import { currentOutputContext } from './output-context';
import { captureStdio } from './stdio-capture';
import { tslabJupyter } from './tslab';
import { DispatchDisplay } from './dispatch-display';
import type { CommSubscriptions } from './comm-subscriptions';
import type { DispatcherPort } from './core';

export interface OutputHooksDeps {
  server: KernelSocketServer;
  /** The execute request running now, if any. */
  runningParent(): Header | null;
  getDispatcher(): DispatcherPort;
  subscriptions: CommSubscriptions;
  log(text: string): void;
}

/** What the kernel installed, and how shutdown takes it down again (displays first, stdio last). */
export interface OutputHooks {
  /** Writes the error to the stderr of the request in whose async context we are, else to the kernel's log. */
  reportBackgroundError(what: string, err: unknown): void;
  /** No more dispatch displays or their live updates. */
  stopDisplays(): void;
  /** process.stdout/stderr write to the real streams again. */
  restoreStdio(): void;
}

/**
 * Every way output leaves the kernel besides replies: process.stdout/stderr
 * (to the request whose async context wrote it), tslab's `display.*` API, and
 * the notebook displays of dispatches (dispatch-display.ts).
 */
export function installOutputHooks(deps: OutputHooksDeps): OutputHooks {
  const { server, log } = deps;
  const stdio = captureStdio((name, text, ctx) => server.stream(name, text, ctx.parent));
  // tslab's `display.*` API calls this (see tslab/dist/public).
  tslabJupyter.lastWriteDisplayData = (data, update) => {
    const ctx = currentOutputContext();
    if (!ctx) {
      log('covalent-ts kernel: display outside of any cell dropped\n');
      return;
    }
    if (!ctx.silent) server.publish(update ? 'update_display_data' : 'display_data', data, ctx.parent);
  };
  const display = new DispatchDisplay({
    publish: (type, content, parent) => server.publish(type, content, parent),
    stream: (name, text, parent) => server.stream(name, text, parent),
    currentParent: () => currentOutputContext()?.parent ?? null,
    runningParent: deps.runningParent,
    getDispatcher: deps.getDispatcher,
    log,
    isSubscribed: (id) => deps.subscriptions.has(id),
  });
  display.install();
  return {
    reportBackgroundError(what, err) {
      const text = `${what}: ${err instanceof Error ? err.stack ?? err.message : inspect(err)}\n`;
      const ctx = currentOutputContext();
      if (ctx && !ctx.silent) server.stream('stderr', text, ctx.parent);
      else log(`covalent-ts kernel: ${text}`);
    },
    stopDisplays: () => display.uninstall(),
    restoreStdio: () => stdio.restore(),
  };
}
