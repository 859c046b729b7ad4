import { startKernel } from './support/kernel-process';
jest.setTimeout(120000);
test('smoke', async () => {
  const k = await startKernel();
  const show = (r: any) => console.log(JSON.stringify(r.reply.content).slice(0, 400) + '\n' + r.iopub.map((m: any) => m.header.msg_type + ' ' + JSON.stringify(m.content).slice(0, 300)).join('\n'));
  show(await k.client.execute(`import * as ct from 'covalent-ts';
const add = ct.electron((a: number, b: number) => a + b);
const slow = ct.electron(async (x: number) => { await new Promise(r => setTimeout(r, 1500)); return x * 2; });
const wf = ct.lattice((x: number) => slow(add(x, 1)));
const id = await ct.dispatch(wf)(1);
id`));
  show(await k.client.execute(`const r = await ct.getResult(id, {wait: true}); r.status + ' ' + JSON.stringify(r.result)`));
  const late = k.client.iopubMessages.filter((m: any) => m.header.msg_type === 'update_display_data');
  console.log('updates', late.length, late.map((m: any) => m.parent_header.msg_id + ' ' + m.content.data['text/plain']));
  console.log(k.log());
  await k.stop();
});
