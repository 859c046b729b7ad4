import type { Header } from './message';
import { processSingleton } from './process-singleton';

/** What a comm target's handler can do with one open comm. */
export interface Comm {
  readonly id: string;
  readonly targetName: string;
  /** Sends `data` to the frontend side of this comm. `parent` defaults to the message being handled. */
  send(data: unknown, parent?: Header): void;
  /** Closes the comm from the kernel side. */
  close(data?: unknown): void;
  readonly closed: boolean;
}

export interface CommHandlers {
  onMessage(data: unknown, parent: Header): void | Promise<void>;
  onClose?(data: unknown): void;
}

/** Called when the frontend opens a comm on a target; returns the comm's handlers. */
export type CommTarget = (comm: Comm, openData: unknown, parent: Header) => CommHandlers;

/** How the manager talks to the wire (set by the kernel). */
export interface CommTransport {
  sendCommMsg(commId: string, data: unknown, parent: Header | null): void;
  sendCommClose(commId: string, data: unknown, parent: Header | null): void;
}

interface OpenComm {
  comm: CommImpl;
  handlers: CommHandlers;
}

class CommImpl implements Comm {
  closed = false;
  constructor(
    readonly id: string,
    readonly targetName: string,
    private readonly manager: CommManager,
    private defaultParent: Header | null,
  ) {}
  setParent(parent: Header): void {
    this.defaultParent = parent;
  }
  send(data: unknown, parent?: Header): void {
    if (this.closed) return;
    this.manager.transport?.sendCommMsg(this.id, data, parent ?? this.defaultParent);
  }
  close(data: unknown = {}): void {
    if (this.closed) return;
    this.manager.transport?.sendCommClose(this.id, data, this.defaultParent);
    this.manager.forget(this.id, data);
  }
}

/**
 * Comms (Jupyter messaging spec, "Custom Messages"): targets the kernel
 * offers, and the comms frontends opened on them. One manager per process,
 * kept under a global symbol so that a second copy of this module (loaded by
 * a cell) registers targets with the kernel's manager.
 */
export class CommManager {
  transport: CommTransport | null = null;
  private readonly targets = new Map<string, CommTarget>();
  private readonly comms = new Map<string, OpenComm>();

  registerTarget(name: string, target: CommTarget): void {
    this.targets.set(name, target);
  }

  unregisterTarget(name: string): void {
    this.targets.delete(name);
  }

  /** `comm_open` from the frontend. Returns false when the target is unknown (the kernel then closes the comm). */
  open(commId: string, targetName: string, data: unknown, parent: Header): boolean {
    const target = this.targets.get(targetName);
    if (!target) return false;
    const comm = new CommImpl(commId, targetName, this, parent);
    const handlers = target(comm, data, parent);
    this.comms.set(commId, { comm, handlers });
    return true;
  }

  /** `comm_msg` from the frontend. Returns false for an unknown comm id. */
  async message(commId: string, data: unknown, parent: Header): Promise<boolean> {
    const open = this.comms.get(commId);
    if (!open) return false;
    open.comm.setParent(parent);
    await open.handlers.onMessage(data, parent);
    return true;
  }

  /** `comm_close` from the frontend. */
  closeFromFrontend(commId: string, data: unknown): boolean {
    const open = this.comms.get(commId);
    if (!open) return false;
    open.comm.closed = true;
    this.forget(commId, data);
    return true;
  }

  forget(commId: string, data: unknown): void {
    const open = this.comms.get(commId);
    if (!open) return;
    open.comm.closed = true;
    this.comms.delete(commId);
    open.handlers.onClose?.(data);
  }

  /** For `comm_info_request`: open comms, optionally of one target. */
  info(targetName?: string): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const [id, { comm }] of this.comms) {
      if (!targetName || comm.targetName === targetName) out[id] = { target_name: comm.targetName };
    }
    return out;
  }

  closeAll(): void {
    for (const id of Array.from(this.comms.keys())) this.forget(id, {});
  }
}

const KEY = Symbol.for('covalent-ts.kernel.commManager');

export function getCommManager(): CommManager {
  return processSingleton(KEY, () => new CommManager());
}
