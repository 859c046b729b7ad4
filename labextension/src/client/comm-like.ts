/**
 * The part of a Jupyter comm the client uses. `Kernel.IComm` satisfies it; the
 * unit tests drive the client with an in-memory fake of the kernel side.
 */
export interface CommLike {
  readonly isDisposed: boolean;
  open(data?: unknown): unknown;
  send(data: any): unknown;
  close(data?: unknown): unknown;
  onMsg: ((msg: { content: { data: unknown } }) => void | PromiseLike<void>) | null;
  onClose: ((msg: unknown) => void | PromiseLike<void>) | null;
}
