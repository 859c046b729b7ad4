import { startKernel } from './support/kernel-process';
jest.setTimeout(60000);
test('debug', async () => {
  const k = await startKernel();
  for (const delay of [3000, 0]) {
  const wait = k.client.send('execute_request', { code: 'await new Promise(() => {});', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
  await k.client.waitFor(() => k.client.children(wait).find((m) => m.header.msg_type === 'execute_input'), 20000, 'await start');
  await new Promise(r => setTimeout(r, delay));
  await k.client.request('interrupt_request', {}, { channel: 'control' });
  await new Promise(r => setTimeout(r, 2000));
  console.log(delay, k.client.hasReply(wait), k.proc.exitCode, k.log());
  }
  await k.stop();
});
