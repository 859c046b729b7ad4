/**
 * Worker thread that owns the control and heartbeat sockets.
 *
 * A cell stuck in a synchronous loop blocks the main thread, so a control
 * socket there could never see an `interrupt_request`. Here it can: the
 * worker answers the interrupt and raises SIGINT in the process, which stops
 * the running script (tslab runs cells with `breakOnSigint`) or rejects the
 * awaited promise. Heartbeats are answered here too, so a busy kernel is not
 * taken for a dead one. Every other control message goes to the main thread.
 */
import { parentPort, workerData } from 'worker_threads';
import * as zmq from 'zeromq';
import type { ConnectionInfo } from './connection';
import { endpoint } from './connection';
import { decode, encode, Signer, WireError } from './wire';
import { replyTo } from './message';
import { RUNNING_SEQ } from './cell-state';

export type ToMain =
  | { kind: 'ready' }
  | { kind: 'message'; frames: Uint8Array[] }
  /** An interrupt_request arrived while `target` (an execute msg_id, or null) was running. */
  | { kind: 'interrupted'; target: string | null }
  | { kind: 'log'; text: string }
  | { kind: 'ping'; seq: number };
export type FromMain =
  | { kind: 'send'; frames: Uint8Array[] }
  | { kind: 'close' }
  | { kind: 'pong'; seq: number }
  /** The execute request now running (null: none). */
  | { kind: 'exec'; msgId: string | null; seq: number };

/** Interrupt watcher timing: check every TICK_MS; a ping unanswered for PING_WAIT_MS means the main thread is blocked. */
const TICK_MS = 50;
const PING_WAIT_MS = 150;
const RESIGNAL_MS = 500;
/** Gives up after this many ticks (60 s). */
const RESIGNAL_MAX = 1200;

async function main(): Promise<void> {
  const info = workerData.connection as ConnectionInfo;
  const cellState = new Int32Array(workerData.cellState as SharedArrayBuffer);
  const signer = new Signer(info.key, info.signature_scheme);
  const control = new zmq.Router({ linger: 0 });
  const hb = new zmq.Reply({ linger: 0 });
  await control.bind(endpoint(info, info.control_port));
  await hb.bind(endpoint(info, info.hb_port));
  const post = (m: ToMain) => parentPort!.postMessage(m);

  // One send at a time per socket (zeromq 6 rule).
  let chain = Promise.resolve();
  const send = (frames: Buffer[]) => {
    chain = chain.then(() => control.send(frames)).catch((e) => post({ kind: 'log', text: `control send failed: ${e.message}\n` }));
  };

  let running: string | null = null;
  let runningSeq = 0;
  /** Set by the main thread's 'close': the sockets' loops then end on purpose. */
  let closing = false;
  let watcher: NodeJS.Timeout | null = null;
  let watcherTarget: string | null = null;
  let pingSeq = 0;
  let pongSeq = 0;
  /**
   * Interrupts the running cell. The main thread is told by message, which
   * stops an await. Only when it does not answer a ping for PING_WAIT_MS is it
   * stuck in synchronous code, and then SIGINT stops the script (cells run with
   * breakOnSigint). The signal is repeated every RESIGNAL_MS while the same
   * cell stays stuck (one that landed while the cell was still compiling is
   * lost), and never sent to a main thread that answers: Node restores the
   * default SIGINT action for an instant around each such script, so needless
   * signals could end the kernel.
   */
  const interrupt = () => {
    const target = running;
    const targetSeq = runningSeq;
    post({ kind: 'interrupted', target });
    if (!target || watcherTarget === target) return;
    if (watcher) clearInterval(watcher); // left over from an earlier cell
    watcherTarget = target;
    let tries = 0;
    let pending = 0;
    let pingedAt = 0;
    let signalledAt = 0;
    const tick = () => {
      const stillRunning = running === target && Atomics.load(cellState, RUNNING_SEQ) === targetSeq;
      if (!stillRunning || ++tries > RESIGNAL_MAX) {
        clearInterval(watcher!);
        watcher = null;
        watcherTarget = null;
        return;
      }
      const now = Date.now();
      if (pending && pongSeq >= pending) pending = 0;
      if (pending && now - pingedAt >= PING_WAIT_MS && now - signalledAt >= RESIGNAL_MS) {
        process.kill(process.pid, 'SIGINT');
        signalledAt = now;
      }
      if (!pending) {
        pending = ++pingSeq;
        pingedAt = now;
        post({ kind: 'ping', seq: pending });
      }
    };
    watcher = setInterval(tick, TICK_MS);
    tick();
  };

  parentPort!.on('message', (m: FromMain) => {
    if (m.kind === 'exec') {
      running = m.msgId;
      runningSeq = m.seq;
    }
    else if (m.kind === 'pong') pongSeq = Math.max(pongSeq, m.seq);
    else if (m.kind === 'send') send(m.frames.map((f) => Buffer.from(f)));
    else if (m.kind === 'close') {
      closing = true;
      void chain.finally(() => {
        if (watcher) clearInterval(watcher);
        control.close();
        hb.close();
        // The thread ends by running dry, and the main thread waits for that before it exits.
        // process.exit() here, racing the main thread's own exit while zeromq tears down, now
        // and then corrupted the heap ("corrupted double-linked list", SIGABRT; zeromq.js #411).
        parentPort!.close();
      });
    }
  });

  void (async () => {
    for await (const frames of hb) await hb.send(frames);
  })().catch(() => undefined);

  post({ kind: 'ready' });
  try {
    for await (const frames of control) {
      receive(frames);
    }
  } catch (e) {
    if (!closing) throw e;
  }

  function receive(frames: Buffer[]): void {
    let msg;
    try {
      msg = decode(frames, signer);
    } catch (e) {
      post({ kind: 'log', text: `covalent-ts kernel: dropped a control message: ${e instanceof WireError ? e.message : String(e)}\n` });
      return;
    }
    if (msg.header.msg_type === 'interrupt_request') {
      interrupt();
      send(encode(replyTo(msg, 'interrupt_reply', { status: 'ok' }), signer));
      return;
    }
    // The signature was checked here; the main thread decodes again without the replay check.
    post({ kind: 'message', frames: frames.map((f) => new Uint8Array(f)) });
  }
}

main().catch((e) => {
  parentPort?.postMessage({ kind: 'log', text: `covalent-ts control worker failed: ${e?.stack ?? e}\n` } satisfies ToMain);
  process.exit(1);
});
