import { CovalentClient } from '../../labextension/src/client/covalent-client';
import { CovalentLabError } from '../../labextension/src/client/errors';
import { signalToPromise } from '@jupyterlab/testing/lib/common';
import { FakeKernel, diamond } from './support/fake-kernel';

describe('CovalentClient', () => {
  it('opens the comm and agrees on the protocol with hello', async () => {
    const kernel = new FakeKernel();
    const client = new CovalentClient(kernel.createComm());
    const hello = await client.connect();
    expect(kernel.comm.opened).toBe(true);
    expect(hello.protocol).toBe(1);
    expect(kernel.sent[0]).toMatchObject({ type: 'hello', v: 1, protocols: [1] });
  });

  it('rejects a kernel that speaks another protocol version', async () => {
    const kernel = new FakeKernel();
    kernel.protocol = 2;
    const client = new CovalentClient(kernel.createComm());
    await expect(client.connect()).rejects.toMatchObject({ code: 'PROTOCOL_MISMATCH' });
  });

  it('matches replies to requests by id, even out of order', async () => {
    const kernel = new FakeKernel();
    kernel.addDispatch(diamond('a'));
    kernel.addDispatch(diamond('b'));
    const client = new CovalentClient(kernel.createComm());
    await client.connect();
    kernel.holdReplies = true;
    const a = client.subscribe('a');
    const b = client.subscribe('b');
    const ids = kernel.sent.slice(-2).map(r => r.id);
    expect(new Set(ids).size).toBe(2);
    // Deliver b's reply before a's.
    kernel.holdReplies = false;
    kernel.release(true);
    expect((await b).snapshot.dispatchId).toBe('b');
    expect((await a).snapshot.dispatchId).toBe('a');
  });

  it('turns an error reply into a typed error with the kernel code', async () => {
    const kernel = new FakeKernel();
    const client = new CovalentClient(kernel.createComm());
    await client.connect();
    const err = await client.subscribe('nope').catch(e => e);
    expect(err).toBeInstanceOf(CovalentLabError);
    expect(err.code).toBe('CT_UNKNOWN_DISPATCH');
  });

  it('fails pending requests when the comm closes, and refuses new ones', async () => {
    const kernel = new FakeKernel();
    kernel.addDispatch(diamond());
    const client = new CovalentClient(kernel.createComm());
    await client.connect();
    kernel.holdReplies = true;
    const pending = client.subscribe('d-1');
    const closed = signalToPromise(client.closed);
    kernel.comm.close();
    await closed;
    await expect(pending).rejects.toMatchObject({ code: 'COMM_CLOSED' });
    await expect(client.list()).rejects.toMatchObject({ code: 'COMM_CLOSED' });
    expect(client.isOpen).toBe(false);
  });

  it('times out a request the kernel never answers', async () => {
    const kernel = new FakeKernel();
    const client = new CovalentClient(kernel.createComm(), { requestTimeoutMs: 50 });
    kernel.holdReplies = true;
    const hello = client.connect();
    await expect(hello).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
  });

  it('emits pushed deltas and dispatch lists', async () => {
    const kernel = new FakeKernel();
    kernel.addDispatch(diamond());
    const client = new CovalentClient(kernel.createComm());
    await client.connect();
    const delta = signalToPromise(client.delta);
    kernel.pushDelta('d-1', [{ id: 2, status: 'RUNNING' }]);
    const [, d] = await delta;
    expect(d).toMatchObject({ dispatchId: 'd-1', seq: 1, nodes: [{ id: 2, status: 'RUNNING' }] });
    const list = signalToPromise(client.dispatches);
    kernel.comm.deliver({ v: 1, type: 'dispatches', dispatches: [] });
    await list;
    expect(client.lastDispatches).toEqual([]);
  });
});
