/**
 * Kernel benchmarks (`npm run bench -- kernel`), against the real kernel
 * process over ZMQ:
 * - kernel start to the first execute_reply (spawn, bind, TypeScript warm-up);
 * - comm round trip of a cancel request (cancel_tasks sent -> reply received),
 *   on a live dispatch of many queued tasks;
 * - output flood: 100,000 console.log lines from one cell, to `idle`.
 */
import type { BenchRow } from './bench-util';
import { stats } from './bench-util';
import { startKernel } from '../kernel/testing/kernel-process';
import { CommClient } from '../kernel/testing/comm-client';

async function startToFirstReply(): Promise<number> {
  const t0 = process.hrtime.bigint();
  const k = await startKernel();
  try {
    const r = await k.client.execute('1', 120000);
    if (r.reply.content.status !== 'ok') throw new Error('first execute failed');
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    await k.stop();
  }
}

export async function runKernelBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const starts: number[] = [];
  for (let i = 0; i < 3; i++) starts.push(await startToFirstReply());
  rows.push({ name: 'kernel start to first execute_reply (median of 3)', value: stats(starts).median, unit: 'ms' });

  const k = await startKernel();
  try {
    const TASKS = 300;
    const setup = await k.client.execute(`import * as ct from 'covalent-ts';
const wait = ct.electron(async (i: number) => { await new Promise((r) => setTimeout(r, 600000)); return i; }, { name: 'wait' });
const many = ct.lattice((n: number) => Array.from({ length: n }, (_, i) => wait(i)), { name: 'many' });
const benchId = await ct.dispatch(many)(${TASKS});
benchId`);
    if (setup.reply.content.status !== 'ok') throw new Error(`bench setup failed: ${JSON.stringify(setup.reply.content)}`);
    const id = JSON.parse(setup.iopub.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain'].replace(/'/g, '"'));
    const comm = new CommClient(k.client);
    await comm.open();
    await comm.request({ v: 1, type: 'hello', protocols: [1] });
    // Baseline: the comm path alone (validation, reply), no dispatcher work.
    const hellos: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = process.hrtime.bigint();
      await comm.request({ v: 1, type: 'hello', protocols: [1] });
      hellos.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const h = stats(hellos);
    rows.push({ name: 'comm round trip without dispatcher work (hello), median', value: h.median, unit: 'ms' });
    rows.push({ name: 'comm round trip without dispatcher work (hello), p99', value: h.p99, unit: 'ms' });
    const snapshot = (await comm.request({ v: 1, type: 'subscribe', dispatchId: id })).result.snapshot;
    const ids: number[] = snapshot.nodes.filter((n: any) => n.kind === 'electron').map((n: any) => n.id);
    const samples: number[] = [];
    for (const taskId of ids.slice(0, TASKS - 20)) {
      const t0 = process.hrtime.bigint();
      const reply = await comm.request({ v: 1, type: 'cancel_tasks', dispatchId: id, taskIds: [taskId] });
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!reply.ok) throw new Error(`cancel failed: ${JSON.stringify(reply.error)}`);
    }
    const s = stats(samples);
    rows.push({ name: `comm cancel round trip, median (${samples.length} cancel_tasks)`, value: s.median, unit: 'ms', target: '<= 10' });
    rows.push({ name: 'comm cancel round trip, p99', value: s.p99, unit: 'ms' });
    await comm.request({ v: 1, type: 'cancel_dispatch', dispatchId: id });

    const N = 100000;
    const t0 = process.hrtime.bigint();
    const flood = await k.client.execute(`for (let i = 0; i < ${N}; i++) console.log("line " + i);`, 300000);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const lines = flood.iopub
      .filter((m) => m.header.msg_type === 'stream')
      .map((m) => m.content.text as string)
      .join('')
      .split('\n').length - 1;
    if (lines !== N) throw new Error(`flood lost output: ${lines} of ${N} lines`);
    rows.push({ name: 'output flood, 100,000 lines to idle', value: seconds * 1000, unit: 'ms' });
    rows.push({ name: 'output flood throughput', value: N / seconds, unit: 'lines/s' });
  } finally {
    await k.stop();
  }
  return rows;
}
