import { TextDecoder } from 'util';
import { currentOutputContext, type OutputContext } from './output-context';
import type { StreamName } from './message-contents';

export type StreamSink = (name: StreamName, text: string, context: OutputContext) => void;
type WriteFn = typeof process.stdout.write;
type WriteCallback = (err?: Error | null) => void;

/**
 * Replaces process.stdout/stderr.write once, for the life of the kernel.
 * Each write goes to the request in whose async context it was made (see
 * output-context.ts). Writes with no such context (kernel internals, a
 * native callback that lost its context) go to the kernel's own log, the
 * real stderr, rather than to whichever cell happens to be running.
 */
export function captureStdio(sink: StreamSink): { restore(): void; log(text: string): void } {
  const original = {
    stdout: process.stdout.write.bind(process.stdout),
    stderr: process.stderr.write.bind(process.stderr),
  };
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  // One function for both of Node's overloads: write(chunk, cb?) and write(chunk, encoding?, cb?).
  const make = (name: StreamName): WriteFn =>
    function write(chunk: string | Uint8Array, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
      if (typeof encoding === 'function') {
        callback = encoding;
        encoding = undefined;
      }
      const text =
        typeof chunk === 'string'
          ? chunk
          : decoders[name].decode(chunk instanceof Uint8Array ? chunk : Buffer.from(String(chunk)), { stream: true });
      const ctx = currentOutputContext();
      if (ctx) {
        if (!ctx.silent && text.length > 0) sink(name, text, ctx);
        if (typeof callback === 'function') process.nextTick(callback);
        return true;
      }
      return original.stderr(text, callback);
    };
  process.stdout.write = make('stdout');
  process.stderr.write = make('stderr');
  return {
    restore() {
      process.stdout.write = original.stdout;
      process.stderr.write = original.stderr;
    },
    log(text: string) {
      original.stderr(text);
    },
  };
}
