import * as fs from 'fs';
import * as path from 'path';
import { startKernel, type RunningKernel } from '../../kernel/testing/kernel-process';
import type { Msg } from '../../kernel/testing/kernel-client';

/** Messaging-protocol behaviour of execute and friends, against the real kernel process. */
jest.setTimeout(120000);

let k: RunningKernel;
beforeAll(async () => {
  k = await startKernel();
});
afterAll(async () => {
  await k?.stop();
});

const ofType = (msgs: Msg[], t: string) => msgs.filter((m) => m.header.msg_type === t);
const stdout = (msgs: Msg[]) =>
  ofType(msgs, 'stream')
    .filter((m) => m.content.name === 'stdout')
    .map((m) => m.content.text)
    .join('');

describe('execute', () => {
  test('a trailing expression is an execute_result, printed text is a stream', async () => {
    const r = await k.client.execute('console.log("printed");\nconst answer: number = 6 * 7;\nanswer');
    expect(r.reply.content).toMatchObject({ status: 'ok', execution_count: expect.any(Number) });
    expect(stdout(r.iopub)).toBe('printed\n');
    const results = ofType(r.iopub, 'execute_result');
    expect(results).toHaveLength(1);
    expect(results[0].content).toMatchObject({ data: { 'text/plain': '42' }, execution_count: r.reply.content.execution_count });
    expect(stdout(r.iopub)).not.toContain('42');
  });

  test('a thrown error is an error message with ename, evalue, traceback and an error reply', async () => {
    const r = await k.client.execute('function fail(): never { throw new RangeError("out of range"); }\nfail()');
    expect(r.reply.content).toMatchObject({ status: 'error', ename: 'RangeError', evalue: 'out of range' });
    const errors = ofType(r.iopub, 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].content.ename).toBe('RangeError');
    expect(errors[0].content.traceback[0]).toBe('RangeError: out of range');
    expect(errors[0].content.traceback.join('\n')).toMatch(/at fail/);
    expect(errors[0].content.traceback.join('\n')).not.toMatch(/tslab[\\/]dist|node:vm/);
    expect(ofType(r.iopub, 'stream')).toHaveLength(0);
  });

  test('a type error is reported as CompileError and the cell does not run', async () => {
    const r = await k.client.execute('console.log("ran");\nconst n: number = "text";');
    expect(r.reply.content).toMatchObject({ status: 'error', ename: 'CompileError' });
    expect(r.reply.content.evalue).toMatch(/not assignable to type 'number'/);
    expect(stdout(r.iopub)).toBe('');
  });

  test('a rejected top-level await is an error', async () => {
    const r = await k.client.execute('await Promise.reject(new TypeError("nope"))');
    expect(r.reply.content).toMatchObject({ status: 'error', ename: 'TypeError', evalue: 'nope' });
  });

  test('silent executions publish nothing and do not count', async () => {
    const before = (await k.client.execute('1')).reply.content.execution_count;
    const r = await k.client.execute('console.log("quiet"); 5', 60000, { silent: true });
    expect(r.reply.content.status).toBe('ok');
    expect(r.iopub.map((m) => m.header.msg_type)).toEqual(['status', 'status']);
    const after = (await k.client.execute('1')).reply.content.execution_count;
    expect(after).toBe(before + 1);
  });

  test('with stop_on_error, requests queued behind a failing cell are aborted', async () => {
    const failing = k.client.send('execute_request', { code: 'await new Promise((r) => setTimeout(r, 500)); throw new Error("first")', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    const queued = k.client.send('execute_request', { code: 'console.log("must not run")', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    expect((await k.client.reply(failing)).content.status).toBe('error');
    expect((await k.client.reply(queued)).content.status).toBe('aborted');
    expect(stdout(await k.client.idle(queued))).toBe('');
    expect((await k.client.execute('"runs again"')).reply.content.status).toBe('ok');
  });

  test('declarations persist between cells', async () => {
    await k.client.execute('let counter = 10;');
    const r = await k.client.execute('counter += 5; counter');
    expect(ofType(r.iopub, 'execute_result')[0].content.data['text/plain']).toBe('15');
  });
});

describe('other requests', () => {
  test('kernel_info_reply has status ok, protocol 5.3 and TypeScript language info', async () => {
    const reply = await k.client.request('kernel_info_request', {});
    expect(reply.content).toMatchObject({
      status: 'ok',
      protocol_version: '5.3',
      implementation: 'covalent-ts',
      language_info: { name: 'typescript', file_extension: '.ts', mimetype: 'text/typescript' },
    });
  });

  test.each([
    ['const x = 1;', 'complete'],
    ['function f() {', 'incomplete'],
    ['const s = `multi', 'incomplete'],
    ['const = 1;', 'invalid'],
    ['1 +* 2', 'invalid'],
  ])('is_complete %j is %s', async (code, status) => {
    const reply = await k.client.request('is_complete_request', { code });
    expect(reply.content.status).toBe(status);
    if (status === 'incomplete') expect(typeof reply.content.indent).toBe('string');
  });

  test('completion knows TypeScript types of earlier cells', async () => {
    await k.client.execute('interface Point { x: number; y: number; label: string }\nconst pt: Point = { x: 1, y: 2, label: "p" };');
    const code = 'pt.la';
    const reply = await k.client.request('complete_request', { code, cursor_pos: code.length });
    expect(reply.content).toMatchObject({ status: 'ok', cursor_end: code.length });
    expect(reply.content.matches).toContain('label');
    const types = reply.content.metadata._jupyter_types_experimental;
    expect(types.find((t: any) => t.text === 'label')).toMatchObject({ type: 'property' });
  });

  test('inspection shows the TypeScript type', async () => {
    const code = 'pt';
    const reply = await k.client.request('inspect_request', { code, cursor_pos: 1, detail_level: 0 });
    expect(reply.content).toMatchObject({ status: 'ok', found: true });
    expect(reply.content.data['text/plain']).toMatch(/const pt: Point/);
    expect(reply.content.data['text/markdown']).toMatch(/```typescript/);
  });

  test('display_data and update_display_data through tslab display', async () => {
    const r = await k.client.execute('import * as tslab from "tslab";\nconst d = tslab.newDisplay();\nd.html("<b>one</b>");\nd.html("<b>two</b>");');
    const shown = ofType(r.iopub, 'display_data');
    const updated = ofType(r.iopub, 'update_display_data');
    expect(shown).toHaveLength(1);
    expect(updated).toHaveLength(1);
    expect(shown[0].content.data['text/html']).toBe('<b>one</b>');
    expect(updated[0].content.data['text/html']).toBe('<b>two</b>');
    expect(updated[0].content.transient.display_id).toBe(shown[0].content.transient.display_id);
  });
});

describe('modules in a folder without node_modules', () => {
  test('the notebook folder really has no node_modules', () => {
    expect(fs.existsSync(k.cwd)).toBe(true);
    expect(fs.existsSync(path.join(k.cwd, 'node_modules'))).toBe(false);
  });

  test('covalent-ts imports with its types', async () => {
    const ok = await k.client.execute('import * as ct from "covalent-ts";\ntypeof ct.dispatch + " " + typeof ct.getDispatcher().listDispatches');
    expect(ofType(ok.iopub, 'execute_result')[0].content.data['text/plain']).toBe("'function function'");
    const typed = await k.client.execute('import * as ct2 from "covalent-ts";\nconst wrong: number = ct2.Status.COMPLETED;');
    expect(typed.reply.content).toMatchObject({ status: 'error', ename: 'CompileError' });
    // Without the library's types the value would be `any` and this would compile.
    expect(typed.reply.content.evalue).toMatch(/Type 'string' is not assignable to type 'number'/);
  });

  test("Node's built-in modules import with their types", async () => {
    const ok = await k.client.execute('import * as fs from "fs";\nimport * as os from "os";\nfs.existsSync(os.tmpdir())');
    expect(ofType(ok.iopub, 'execute_result')[0].content.data['text/plain']).toBe('true');
    const typed = await k.client.execute('import * as fs2 from "fs";\nconst n: number = fs2.readFileSync("/etc/hostname", "utf8");');
    expect(typed.reply.content.evalue).toMatch(/Type 'string' is not assignable to type 'number'/);
  });

  test('a cell gets the same library instance and dispatcher as the kernel', async () => {
    const kernelLib = path.join(path.dirname(require.resolve('../../package.json')), 'dist', 'src', 'index.js');
    const r = await k.client.execute(
      `import * as ct3 from "covalent-ts";\nconst viaPath = require(${JSON.stringify(kernelLib)});\n` +
        `[ct3.getDispatcher === viaPath.getDispatcher, ct3.getDispatcher() === viaPath.getDispatcher(), ct3.getDispatcher() === (globalThis as any)[Symbol.for("covalent-ts.dispatcher")]].join(",")`,
    );
    expect(ofType(r.iopub, 'execute_result')[0].content.data['text/plain']).toBe("'true,true,true'");
  });
});

describe('routing of background output', () => {
  test('output printed later by work a cell started goes to that cell, not to the running one', async () => {
    const a = await k.client.execute('setTimeout(() => console.log("late from A"), 1500); "started"');
    const b = k.client.send('execute_request', { code: 'await new Promise((r) => setTimeout(r, 4000)); console.log("from B")', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    await k.client.reply(b, 30000);
    const bMsgs = await k.client.idle(b);
    expect(stdout(bMsgs)).toBe('from B\n');
    expect(stdout(k.client.children(a.req))).toBe('late from A\n');
  });

  test("a comm handler's output goes to the comm message that triggered it, not to the running cell", async () => {
    // A cell registers its own comm target on the kernel's comm manager (a process-wide singleton).
    const reg = await k.client.execute(
      `const { getCommManager } = require("covalent-ts/dist/kernel/comm-manager");\n` +
        `getCommManager().registerTarget("echo", (comm: any) => ({ onMessage: (data: any) => { console.log("handler got " + data.n); comm.send({ echoed: data.n }); } }));`,
    );
    expect(reg.reply.content.status).toBe('ok');
    const busy = k.client.send('execute_request', { code: 'await new Promise((r) => setTimeout(r, 3000)); console.log("cell done")', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    await k.client.waitFor(() => k.client.children(busy).find((m) => m.header.msg_type === 'execute_input'), 20000, 'cell start');
    const commId = 'echo-comm-1';
    await k.client.idle(k.client.send('comm_open', { comm_id: commId, target_name: 'echo', data: {} }));
    const msg = k.client.send('comm_msg', { comm_id: commId, data: { n: 7 } });
    const out = await k.client.idle(msg);
    expect(stdout(out)).toBe('handler got 7\n');
    expect(out.find((m) => m.header.msg_type === 'comm_msg')!.content).toEqual({ comm_id: commId, data: { echoed: 7 } });
    // While the cell still runs, the kernel shows busy again after the comm message's idle.
    const nextStatusAfterCommIdle = () => {
      const statuses = k.client.iopubMessages.filter((m) => m.header.msg_type === 'status');
      return statuses[statuses.findIndex((m) => m.parent_header.msg_id === msg.header.msg_id && m.content.execution_state === 'idle') + 1];
    };
    expect(await k.client.waitFor(nextStatusAfterCommIdle, 10000, 'status after the comm idle')).toMatchObject({
      parent_header: { msg_id: busy.header.msg_id },
      content: { execution_state: 'busy' },
    });
    await k.client.reply(busy, 30000);
    expect(stdout(await k.client.idle(busy))).toBe('cell done\n');
  });

  test('comm messages and completions are answered while a cell awaits', async () => {
    const long = k.client.send('execute_request', { code: 'await new Promise((r) => setTimeout(r, 5000)); "done"', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    await k.client.waitFor(() => k.client.children(long).find((m) => m.header.msg_type === 'execute_input'), 20000, 'cell start');
    const t0 = Date.now();
    const reply = await k.client.request('complete_request', { code: 'Math.fl', cursor_pos: 7 });
    expect(reply.content.matches).toContain('floor');
    expect(k.client.hasReply(long)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(4000);
    await k.client.reply(long, 30000);
  });
});
