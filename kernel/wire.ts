import { createHmac, getHashes, timingSafeEqual } from 'crypto';
import { CtError, ErrorCodes } from '../src/errors';
import type { Header, Message, ReceivedMessage } from './message';
import { isRecord } from './is-record';

const DELIMITER = Buffer.from('<IDS|MSG>');

/** Why an incoming frame set was refused; logged, never answered. */
export class WireError extends CtError {
  static readonly kind: string = 'WireError';
  constructor(message: string) {
    super(ErrorCodes.PROTOCOL, message);
  }
}

/**
 * Signs and verifies messages with the connection file's key and scheme
 * (`hmac-sha256` and friends). With an empty key Jupyter disables signing;
 * with a key, every incoming message must carry the right signature, and a
 * signature seen before is refused too (a replayed message would otherwise
 * run its code again).
 */
export class Signer {
  private readonly algorithm: string;
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];

  constructor(
    private readonly key: string,
    scheme: string,
    private readonly historySize = 65536,
  ) {
    const m = /^hmac-(.+)$/.exec(scheme);
    if (!m || !getHashes().includes(m[1])) {
      throw new CtError(ErrorCodes.INVALID_ARGUMENT, `Unsupported signature_scheme ${JSON.stringify(scheme)}; use hmac-sha256.`);
    }
    this.algorithm = m[1];
  }

  get enabled(): boolean {
    return this.key.length > 0;
  }

  sign(parts: Buffer[]): string {
    if (!this.enabled) return '';
    const h = createHmac(this.algorithm, this.key);
    for (const p of parts) h.update(p);
    return h.digest('hex');
  }

  /** Throws WireError unless `signature` is the HMAC of `parts` and is new. */
  verify(signature: string, parts: Buffer[]): void {
    if (!this.enabled) return;
    const expected = Buffer.from(this.sign(parts), 'ascii');
    const got = Buffer.from(signature, 'ascii');
    if (got.length === 0) throw new WireError('unsigned message');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new WireError('invalid signature');
    if (this.seen.has(signature)) throw new WireError('duplicate signature (replayed message)');
    this.seen.add(signature);
    this.seenOrder.push(signature);
    if (this.seenOrder.length > this.historySize) this.seen.delete(this.seenOrder.shift()!);
  }
}

/** Decodes and authenticates the frames of one message from a ROUTER socket. */
export function decode(frames: Buffer[], signer: Signer): ReceivedMessage {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) throw new WireError('missing <IDS|MSG> delimiter');
  if (frames.length < at + 6) throw new WireError(`too few frames (${frames.length})`);
  const signature = frames[at + 1].toString('ascii');
  const parts = frames.slice(at + 2, at + 6);
  // Authenticate before parsing: nothing from an unauthenticated sender reaches JSON.parse.
  signer.verify(signature, parts);
  let header: unknown, parent: unknown, metadata: unknown, content: unknown;
  try {
    [header, parent, metadata, content] = parts.map((p): unknown => JSON.parse(p.toString('utf8')));
  } catch (e) {
    throw new WireError(`malformed JSON in message: ${(e as Error).message}`);
  }
  if (!isHeader(header)) throw new WireError('message header lacks msg_type or msg_id');
  return {
    identities: frames.slice(0, at),
    header,
    parent_header: isRecord(parent) ? (parent as Header | Record<string, never>) : {},
    metadata: isRecord(metadata) ? metadata : {},
    content: isRecord(content) ? content : {},
    buffers: frames.slice(at + 6),
  };
}

/** What the kernel relies on in a header: its type and id (the rest is echoed as sent). */
function isHeader(value: unknown): value is Header {
  return isRecord(value) && typeof value.msg_type === 'string' && typeof value.msg_id === 'string';
}

/** Encodes and signs a message into frames. */
export function encode(msg: Message, signer: Signer): Buffer[] {
  const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) => Buffer.from(JSON.stringify(p), 'utf8'));
  return [...msg.identities, DELIMITER, Buffer.from(signer.sign(parts), 'ascii'), ...parts, ...msg.buffers];
}
