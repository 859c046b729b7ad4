import { randomUUID } from 'crypto';

/** Jupyter messaging protocol version this kernel implements. */
export const PROTOCOL_VERSION = '5.3';

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

/** A decoded Jupyter message (wire-format details live in wire.ts). */
export interface Message<C = unknown> {
  /** ZeroMQ routing prefix of the sender (ROUTER sockets); echoed on replies. */
  identities: Buffer[];
  header: Header;
  parent_header: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** A message as received: its content is whatever JSON object the client sent (see message-contents.ts). */
export type ReceivedMessage = Message<Record<string, unknown>>;

/** The kernel's own session id: every message it sends carries it. */
export const KERNEL_SESSION = randomUUID();

/**
 * A message the kernel sends. `parent` is the request it answers or the
 * request whose work produced it (output routing depends on this).
 */
export function newMessage<C>(
  msgType: string,
  content: C,
  parent?: Header | null,
  identities: Buffer[] = [],
  metadata: Record<string, unknown> = {},
): Message<C> {
  return {
    identities,
    header: {
      msg_id: randomUUID(),
      session: KERNEL_SESSION,
      username: parent?.username ?? 'kernel',
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    },
    parent_header: parent ?? {},
    metadata,
    content,
    buffers: [],
  };
}

/** A reply on the socket the request came from, to the same client. */
export function replyTo<C>(request: Message, msgType: string, content: C, metadata: Record<string, unknown> = {}): Message<C> {
  return newMessage(msgType, content, request.header, request.identities, metadata);
}
