import { decode, encode, Signer } from '../../kernel/wire';
import { newMessage } from '../../kernel/message';
import { validateRequest } from '../../kernel/comm-validation';

describe('wire signing', () => {
  const signer = () => new Signer('secret-key', 'hmac-sha256');

  test('a message encoded with the key decodes, once', () => {
    const frames = encode(newMessage('kernel_info_request', { a: 1 }, null, [Buffer.from('id')]), signer());
    const s = signer();
    const msg = decode(frames, s);
    expect(msg.header.msg_type).toBe('kernel_info_request');
    expect(msg.identities.map(String)).toEqual(['id']);
    expect(() => decode(frames, s)).toThrow(/duplicate signature/);
  });

  test('another key, no signature, or changed content are refused', () => {
    const frames = encode(newMessage('execute_request', { code: '1' }), new Signer('other', 'hmac-sha256'));
    expect(() => decode(frames, signer())).toThrow(/invalid signature/);
    const unsigned = encode(newMessage('execute_request', { code: '1' }), new Signer('', 'hmac-sha256'));
    expect(() => decode(unsigned, signer())).toThrow(/unsigned message/);
    const good = encode(newMessage('execute_request', { code: '1' }), signer());
    good[good.length - 1] = Buffer.from('{"code":"2"}');
    expect(() => decode(good, signer())).toThrow(/invalid signature/);
  });

  test('an unsupported signature scheme is refused at start', () => {
    expect(() => new Signer('k', 'rot13')).toThrow(/Unsupported signature_scheme/);
  });
});

describe('comm request validation', () => {
  test.each([
    [{ v: 1, id: 'a', type: 'list' }, true],
    [{ v: 1, id: 'a', type: 'cancel_tasks', dispatchId: 'd', taskIds: [1, 2] }, true],
    [{ v: 1, id: 'a', type: 'cancel_tasks', dispatchId: 'd', taskIds: [1, 1] }, false],
    [{ v: 1, id: 'a', type: 'cancel_dispatch', dispatchId: '' }, false],
    [{ v: 1, id: 'a', type: 'hello', protocols: [] }, false],
    [{ v: 1.5, id: 'a', type: 'list' }, false],
  ])('%j valid: %s', (data, ok) => {
    expect(validateRequest(data).ok).toBe(ok);
  });
});
