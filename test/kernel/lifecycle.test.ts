import { startKernel, type RunningKernel } from '../../kernel/testing/kernel-process';
import type { Msg } from '../../kernel/testing/kernel-client';

/** Output flood, interrupts and shutdown, against the real kernel process. */
jest.setTimeout(180000);

/** Waits for a reply; on timeout says whether the kernel died and what it logged. */
async function replyOrDiagnose(k: RunningKernel, req: Msg, timeoutMs = 20000): Promise<Msg> {
  try {
    return await k.client.reply(req, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}; kernel exit=${k.proc.exitCode} signal=${k.proc.signalCode}; log:\n${k.log()}`);
  }
}

const exec = (code: string) => ({ code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });

describe('a running kernel', () => {
  let k: RunningKernel;
  beforeAll(async () => {
    k = await startKernel();
  });
  afterAll(async () => {
    await k?.stop();
  });

  test('100,000 console.log lines from one cell arrive complete and in order, then idle', async () => {
    const N = 100000;
    const r = await k.client.execute(`for (let i = 0; i < ${N}; i++) console.log("line " + i);`, 120000);
    expect(r.reply.content.status).toBe('ok');
    const msgs = r.iopub;
    const last = msgs[msgs.length - 1];
    expect(last.header.msg_type).toBe('status');
    expect(last.content.execution_state).toBe('idle');
    const text = msgs
      .filter((m: Msg) => m.header.msg_type === 'stream')
      .map((m: Msg) => m.content.text)
      .join('');
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(N);
    for (let i = 0; i < N; i++) if (lines[i] !== `line ${i}`) throw new Error(`line ${i} is ${JSON.stringify(lines[i])}`);
  });

  test('interrupt_request stops a synchronous loop; the kernel keeps working', async () => {
    const loop = k.client.send('execute_request', exec('let spins = 0;\nwhile (true) { spins++; }'));
    await k.client.waitFor(() => k.client.children(loop).find((m) => m.header.msg_type === 'execute_input'), 20000, 'loop start');
    await new Promise((r) => setTimeout(r, 300));
    // The heartbeat is answered from the control thread even while the main thread spins.
    expect(await k.client.heartbeat(5000)).toBeLessThan(5000);
    const intr = await k.client.request('interrupt_request', {}, { channel: 'control' });
    expect(intr.header.msg_type).toBe('interrupt_reply');
    const reply = await replyOrDiagnose(k, loop);
    expect(reply.content).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    const after = await k.client.execute('"alive"');
    expect(after.iopub.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain']).toBe("'alive'");
  });

  test('interrupt_request stops a loop that starts right away, while the cell is still being compiled', async () => {
    // No pause: the interrupt can land before the script runs; it must not be lost.
    const loop = k.client.send('execute_request', exec('const big: number[] = [];\nfor (;;) { big.length = 0; }'));
    await k.client.waitFor(() => k.client.children(loop).find((m) => m.header.msg_type === 'execute_input'), 20000, 'loop start');
    await k.client.request('interrupt_request', {}, { channel: 'control' });
    const reply = await replyOrDiagnose(k, loop);
    expect(reply.content).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    expect((await k.client.execute('"next cell runs"')).reply.content.status).toBe('ok');
  });

  test('repeated interrupts, at any moment of a cell, each stop their own cell and never the kernel', async () => {
    for (let i = 0; i < 6; i++) {
      const loop = k.client.send('execute_request', exec(`let laps${i} = 0;\nwhile (true) { laps${i}++; }`));
      await k.client.waitFor(() => k.client.children(loop).find((m) => m.header.msg_type === 'execute_input'), 20000, 'loop start');
      await new Promise((r) => setTimeout(r, [0, 50, 300][i % 3]));
      await k.client.request('interrupt_request', {}, { channel: 'control' });
      expect((await replyOrDiagnose(k, loop)).content.ename).toBe('KeyboardInterrupt');
      expect(k.proc.signalCode).toBeNull();
    }
    expect((await k.client.execute('"fine"')).reply.content.status).toBe('ok');
  });

  test('an exception thrown later by a timer a cell set goes to that cell; the kernel survives', async () => {
    const a = await k.client.execute('setTimeout(() => { throw new Error("late failure"); }, 300); "armed"');
    await k.client.waitFor(
      () => k.client.children(a.req).find((m) => m.header.msg_type === 'stream' && m.content.name === 'stderr' && /late failure/.test(m.content.text)),
      20000,
      'the late error in its cell',
    );
    expect((await k.client.execute('"still here"')).reply.content.status).toBe('ok');
  });

  test('interrupt_request stops an await that would never end', async () => {
    const wait = k.client.send('execute_request', exec('await new Promise(() => {});'));
    await k.client.waitFor(() => k.client.children(wait).find((m) => m.header.msg_type === 'execute_input'), 20000, 'await start');
    await k.client.request('interrupt_request', {}, { channel: 'control' });
    const reply = await replyOrDiagnose(k, wait);
    expect(reply.content).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    expect((await k.client.execute('1')).reply.content.status).toBe('ok');
  });
});

describe('shutdown', () => {
  test.each(['control', 'shell'] as const)('shutdown_request on %s exits the process even with timers pending', async (channel) => {
    const k = await startKernel();
    try {
      await k.client.execute('setInterval(() => {}, 1000); setTimeout(() => {}, 600000); "timers set"');
      const reply = await k.client.request('shutdown_request', { restart: false }, { channel });
      expect(reply.content).toMatchObject({ status: 'ok', restart: false });
      const exit = await Promise.race([k.exited, new Promise((r) => setTimeout(() => r('still running'), 15000))]);
      if (exit === 'still running') throw new Error(`kernel still running 15 s after shutdown_reply; log:\n${k.log()}`);
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      await k.stop();
    }
  });
});
