import {
  DISPATCH_MIME_TYPE,
  renderDispatchHtml,
  renderDispatchText,
  type DispatchOutputData,
  type DispatchSnapshot,
  isTerminal,
} from '../src/protocol';
import { setDisplayHook } from '../src/dispatcher/display-hook';
import type { DispatcherEventMap } from '../src/dispatcher/events';
import type { DispatcherPort } from './core';
import type { Header } from './message';
import type { DisplayDataContent, StreamName } from './message-contents';

export interface DispatchDisplayDeps {
  publish(msgType: 'display_data' | 'update_display_data', content: DisplayDataContent, parent: Header): void;
  stream(name: StreamName, text: string, parent: Header): void;
  /** The request whose async context we are in (the cell calling ct.dispatch / ct.show). */
  currentParent(): Header | null;
  /** The execute request running now, if any. */
  runningParent(): Header | null;
  getDispatcher(): DispatcherPort;
  log(text: string): void;
  /** Live updates are coalesced for this long (default 100 ms). */
  throttleMs?: number;
  /**
   * Whether a comm is subscribed to the dispatch: then the comm carries the
   * live deltas and the display is updated only when the dispatch ends.
   */
  isSubscribed?: (dispatchId: string) => boolean;
}

interface Live {
  /** Cells showing this dispatch (first = the one that dispatched). */
  parents: Header[];
  timer: NodeJS.Timeout | null;
}

/**
 * Shows dispatches in the notebook: `ct.dispatch` from a cell (through the
 * library's display hook) and `ct.show(id)` put a display in the current cell
 * (MIME DISPATCH_MIME_TYPE for the extension, `text/html` and `text/plain`
 * for everything else) and keep it live with `update_display_data` until the
 * dispatch ends (while a comm is subscribed to it, only its final state: the
 * comm carries the live deltas). Task output reported by the dispatcher goes to the cell that
 * dispatched, whichever cell runs now.
 */
export class DispatchDisplay {
  private readonly live = new Map<string, Live>();
  /** dispatch id (and sub-dispatch ids) -> the cell that dispatched it. */
  private readonly owners = new Map<string, Header>();
  private dispatcher: DispatcherPort | null = null;

  constructor(private readonly deps: DispatchDisplayDeps) {}

  install(): void {
    setDisplayHook({
      onDispatch: (id) => this.safely(() => this.show(id, true)),
      show: (id) => this.safely(() => this.show(id, false)),
    });
  }

  uninstall(): void {
    setDisplayHook(null);
    for (const l of this.live.values()) if (l.timer) clearTimeout(l.timer);
    this.live.clear();
    this.detach();
  }

  static displayId(dispatchId: string): string {
    return `covalent-ts-dispatch-${dispatchId}`;
  }

  static content(snapshot: DispatchSnapshot): DisplayDataContent & { transient: { display_id: string } } {
    const data: DispatchOutputData = { dispatchId: snapshot.dispatchId, snapshot };
    return {
      data: {
        [DISPATCH_MIME_TYPE]: data,
        'text/html': renderDispatchHtml(snapshot),
        'text/plain': renderDispatchText(snapshot),
      },
      metadata: {},
      transient: { display_id: DispatchDisplay.displayId(snapshot.dispatchId) },
    };
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (e) {
      // Showing a dispatch must never make the dispatch itself fail.
      this.deps.log(`covalent-ts kernel: could not display a dispatch: ${(e as Error)?.stack ?? e}\n`);
    }
  }

  /** The current process-wide dispatcher; listeners follow it if a cell replaced it (ct.shutdown()). */
  private d(): DispatcherPort {
    const current = this.deps.getDispatcher();
    if (current !== this.dispatcher) {
      this.detach();
      this.dispatcher = current;
      current.on('node-changed', this.onNode);
      current.on('dispatch-changed', this.onDispatch);
      current.on('dispatch-created', this.onCreated);
      current.on('output', this.onOutput);
    }
    return current;
  }

  private detach(): void {
    if (!this.dispatcher) return;
    this.dispatcher.off('node-changed', this.onNode);
    this.dispatcher.off('dispatch-changed', this.onDispatch);
    this.dispatcher.off('dispatch-created', this.onCreated);
    this.dispatcher.off('output', this.onOutput);
    this.dispatcher = null;
  }

  show(dispatchId: string, dispatched: boolean): void {
    const parent = this.deps.currentParent();
    if (!parent) {
      this.deps.log(`covalent-ts kernel: dispatch ${dispatchId} shown outside of a cell; nothing displayed\n`);
      return;
    }
    if (dispatched && !this.owners.has(dispatchId)) this.owners.set(dispatchId, parent);
    const live = this.d().liveSnapshot(dispatchId);
    if (live) return this.showSnapshot(live, parent);
    // A dispatch of another process or an earlier session: read it from the store.
    this.d()
      .snapshot(dispatchId)
      .then((s) => this.showSnapshot(s, parent))
      .catch((e) => this.deps.stream('stderr', `ct.show: ${(e as Error)?.message ?? e}\n`, parent));
  }

  private showSnapshot(snapshot: DispatchSnapshot, parent: Header): void {
    const dispatchId = snapshot.dispatchId;
    this.deps.publish('display_data', DispatchDisplay.content(snapshot), parent);
    if (isTerminal(snapshot.status)) return;
    const live = this.live.get(dispatchId);
    if (live) live.parents.push(parent);
    else this.live.set(dispatchId, { parents: [parent], timer: null });
  }

  private readonly onNode = (e: DispatcherEventMap['node-changed']) => this.schedule(e.dispatchId);
  private readonly onDispatch = (e: DispatcherEventMap['dispatch-changed']) => {
    if (isTerminal(e.status)) this.safely(() => this.update(e.dispatchId, true));
    else this.schedule(e.dispatchId);
  };
  private readonly onCreated = (e: DispatcherEventMap['dispatch-created']) => {
    const owner = e.parentDispatchId ? this.owners.get(e.parentDispatchId) : undefined;
    if (owner) this.owners.set(e.dispatchId, owner);
  };
  private readonly onOutput = (e: DispatcherEventMap['output']) => {
    const owner = this.owners.get(e.dispatchId);
    if (owner) this.deps.stream(e.stream, e.text, owner);
  };

  private schedule(dispatchId: string): void {
    const live = this.live.get(dispatchId);
    if (!live || live.timer || this.deps.isSubscribed?.(dispatchId)) return;
    live.timer = setTimeout(() => {
      live.timer = null;
      this.safely(() => this.update(dispatchId, false));
    }, this.deps.throttleMs ?? 100);
  }

  private update(dispatchId: string, final: boolean): void {
    const live = this.live.get(dispatchId);
    if (!live) return;
    // A comm subscribed since this update was scheduled carries the live state now.
    if (!final && this.deps.isSubscribed?.(dispatchId)) return;
    if (final) {
      if (live.timer) clearTimeout(live.timer);
      this.live.delete(dispatchId);
    }
    const snapshot = this.d().liveSnapshot(dispatchId);
    if (!snapshot) return;
    const content = DispatchDisplay.content(snapshot);
    // Frontends route updates by display id. Clients that read only the
    // running cell's messages (nbclient) also get a copy parented to it, so a
    // saved notebook ends with the final state.
    const targets = [live.parents[0]];
    const running = this.deps.runningParent();
    if (running && !live.parents.some((p) => p.msg_id === running.msg_id)) targets.push(running);
    for (const t of targets) this.deps.publish('update_display_data', content, t);
  }
}
