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

export type ToMain =
  | { kind: 'ready' }
  | { kind: 'message'; frames: Uint8Array[] }
  /** An interrupt_request arrived while `target` (an execute msg_id, or null) was running. */
  | { kind: 'interrupted'; target: string | null }
  | { kind: 'log'; text: string };
export type FromMain =
  | { kind: 'send'; frames: Uint8Array[] }
  | { kind: 'close' }
  /** The execute request now running (null: none). */
  | { kind: 'exec'; msgId: string | null };

/** How often and how long an interrupt is re-signalled while the same cell still runs. */
const RESIGNAL_MS = 100;
const RESIGNAL_MAX = 100;

async function main(): Promise<void> {
  const info = workerData.connection as ConnectionInfo;
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
  let resignal: NodeJS.Timeout | null = null;
  /**
   * A SIGINT that lands while the main thread converts a cell (before the
   * script runs with breakOnSigint) can be lost, so the signal is repeated
   * until the interrupted cell has ended, and never reaches the next cell.
   */
  const interrupt = () => {
    process.kill(process.pid, 'SIGINT');
    const target = running;
    if (!target || resignal) return;
    let tries = 0;
    resignal = setInterval(() => {
      if (running !== target || ++tries > RESIGNAL_MAX) {
        clearInterval(resignal!);
        resignal = null;
        return;
      }
      process.kill(process.pid, 'SIGINT');
    }, RESIGNAL_MS);
  };

  parentPort!.on('message', (m: FromMain) => {
    if (m.kind === 'exec') running = m.msgId;
    else if (m.kind === 'send') send(m.frames.map((f) => Buffer.from(f)));
    else if (m.kind === 'close') {
      void chain.finally(() => {
        control.close();
        hb.close();
        process.exit(0);
      });
    }
  });

  void (async () => {
    for await (const frames of hb) await hb.send(frames);
  })().catch(() => undefined);

  post({ kind: 'ready' });
  for await (const frames of control) {
    let msg;
    try {
      msg = decode(frames, signer);
    } catch (e) {
      post({ kind: 'log', text: `covalent-ts kernel: dropped a control message: ${e instanceof WireError ? e.message : String(e)}\n` });
      continue;
    }
    if (msg.header.msg_type === 'interrupt_request') {
      // Two paths: SIGINT stops a synchronous loop (the main thread cannot read
      // messages then); the message stops an await even where a signal is not
      // delivered to the JavaScript listener.
      post({ kind: 'interrupted', target: running });
      interrupt();
      send(encode(replyTo(msg, 'interrupt_reply', { status: 'ok' }), signer));
      continue;
    }
    // The signature was checked here; the main thread decodes again without the replay check.
    post({ kind: 'message', frames: frames.map((f) => new Uint8Array(f)) });
  }
}

main().catch((e) => {
  parentPort?.postMessage({ kind: 'log', text: `covalent-ts control worker failed: ${e?.stack ?? e}\n` } satisfies ToMain);
  process.exit(1);
});
