import { format, inspect } from 'util';
import type { ConverterSet } from 'tslab/dist/executor';
import type { Converter } from 'tslab/dist/converter';
import type { IsCompleteReplyContent } from './message-contents';
import { isRecord } from './is-record';
import { tslabConverter, tslabExecutor, tslabInspect, tsForTslab } from './tslab';
import { buildOverlay, installTypeOverlay, wrapCellRequire } from './module-overlay';

/** What a cell produced besides its printed output. */
export interface CellOutcome {
  ok: boolean;
  /** Present when the cell ends in an expression whose value is not null/undefined. */
  value?: { present: true; value: unknown };
  error?: CellError;
}

export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

export interface CompletionResult {
  cursor_start: number;
  cursor_end: number;
  matches: string[];
  /** JupyterLab shows these kinds next to the matches. */
  types: Array<{ start: number; end: number; text: string; type: string }>;
}

export type IsComplete = IsCompleteReplyContent;

/**
 * Runs cells with tslab's executor and converter (type-checked TypeScript, top
 * level await, declarations kept between cells). tslab reports the trailing
 * expression and errors through the console it is given; this class hands it
 * one that records them, so the kernel can send an `execute_result` and an
 * `error` message instead of printing them to stdout.
 */
export class CellRunner {
  private readonly converters: ConverterSet;
  private readonly executor: ReturnType<typeof tslabExecutor.createExecutor>;
  private capture: { value?: unknown; hasValue: boolean; errors: unknown[]; diagnostics: string[] } | null = null;

  constructor(cwd: string) {
    installTypeOverlay(tsForTslab, buildOverlay(cwd));
    let node: Converter | undefined, browser: Converter | undefined;
    this.converters = {
      get node() {
        return (node ??= tslabConverter.createConverter({ isJS: false, isBrowser: false }));
      },
      get browser() {
        return (browser ??= tslabConverter.createConverter({ isJS: false, isBrowser: true }));
      },
      close() {
        node?.close();
        browser?.close();
      },
    };
    const sink = {
      log: (value: unknown) => {
        // tslab calls log() only for the trailing expression's value.
        if (this.capture) {
          this.capture.value = value;
          this.capture.hasValue = true;
        }
      },
      error: (first: unknown, ...rest: unknown[]) => {
        if (!this.capture) return;
        if (typeof first === 'string' && rest.length > 0) this.capture.diagnostics.push(format(first, ...rest));
        else this.capture.errors.push(first);
      },
    };
    this.executor = tslabExecutor.createExecutor(cwd, this.converters, sink);
    // createExecutor leaves the `require` cells call on this global.
    const tslabGlobal = (globalThis as typeof globalThis & { __tslab__: { require: NodeJS.Require } }).__tslab__;
    tslabGlobal.require = wrapCellRequire(tslabGlobal.require);
  }

  /** Builds the TypeScript program now (about 2-3 s) instead of in the first cell. */
  warm(): void {
    void this.converters.node;
  }

  async execute(code: string): Promise<CellOutcome> {
    const capture = { hasValue: false, errors: [] as unknown[], diagnostics: [] as string[], value: undefined as unknown };
    this.capture = capture;
    let ok: boolean;
    try {
      ok = await this.executor.execute(code);
    } catch (e) {
      capture.errors.push(e);
      ok = false;
    } finally {
      this.capture = null;
    }
    if (!ok || capture.errors.length > 0 || capture.diagnostics.length > 0) {
      return { ok: false, error: toCellError(capture.errors, capture.diagnostics) };
    }
    return capture.hasValue ? { ok: true, value: { present: true, value: capture.value } } : { ok: true };
  }

  /** Interrupts an awaiting cell; a synchronous one is stopped by SIGINT itself (breakOnSigint). */
  interrupt(): void {
    this.executor.interrupt();
  }

  complete(code: string, cursor: number): CompletionResult {
    const info = this.executor.complete(code, cursor);
    const kinds = new Map<string, string>();
    for (const e of (info.original?.entries ?? []) as Array<{ name: string; kind: string }>) kinds.set(e.name, e.kind);
    return {
      cursor_start: info.start,
      cursor_end: info.end,
      matches: info.candidates,
      types: info.candidates.map((text) => ({ start: info.start, end: info.end, text, type: kinds.get(text) ?? '' })),
    };
  }

  inspect(code: string, cursor: number): { found: false } | { found: true; text: string; markdown: string } {
    const info = this.executor.inspect(code, cursor);
    if (!info) return { found: false };
    const text = tslabInspect.printQuickInfo(info);
    const signature = (info.displayParts ?? []).map((p: { text: string }) => p.text).join('');
    const docs = (info.documentation ?? []).map((p: { text: string }) => p.text).join('');
    return { found: true, text, markdown: '```typescript\n' + signature + '\n```' + (docs ? '\n\n' + docs : '') };
  }

  isComplete(code: string): IsComplete {
    const r = tslabConverter.isCompleteCode(code);
    if (!r.completed) return { status: 'incomplete', indent: r.indent ?? '' };
    const file = tsForTslab.createSourceFile('cell.ts', code, tsForTslab.ScriptTarget.Latest, false, tsForTslab.ScriptKind.TS);
    // The parser's own diagnostics are internal to TypeScript's SourceFile, but stable in the pinned build.
    const diags = (file as typeof file & { parseDiagnostics?: Array<{ code: number }> }).parseDiagnostics ?? [];
    if (diags.length === 0) return { status: 'complete' };
    // An open template literal or block comment may go on over the next lines.
    if (diags.some((d) => CONTINUABLE.has(d.code))) return { status: 'incomplete', indent: '' };
    return { status: 'invalid' };
  }

  close(): void {
    this.executor.close();
  }
}

/** TypeScript parse errors that more lines can fix: unterminated template literal, missing `*\/`. */
const CONTINUABLE = new Set([1160, 1010]);

/** Stack frames of the kernel and of Node internals say nothing about the user's code. */
const INTERNAL_FRAME = /^\s+at (.*[\\/](tslab[\\/]dist|dist[\\/]kernel)[\\/]|.*\(node:|node:)/;

export function toCellError(errors: unknown[], diagnostics: string[]): CellError {
  if (errors.length === 0 && diagnostics.length > 0) {
    return { ename: 'CompileError', evalue: diagnostics[0], traceback: diagnostics };
  }
  const e = errors[0];
  if (isErrorLike(e)) {
    const interrupted = e.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED' || e.message === 'Interrupted asynchronously';
    const ename = interrupted ? 'KeyboardInterrupt' : String(e.name ?? 'Error');
    const evalue = typeof e.code === 'string' && e.code.startsWith('CT_') ? `${e.message} [${e.code}]` : String(e.message);
    let stack: string[] = typeof e.stack === 'string' ? e.stack.split('\n') : [`${ename}: ${evalue}`];
    // Node prefixes the stack of a syntax or script error with the source line and a caret: keep the error line on.
    const head = stack.findIndex((line) => line.startsWith(`${e.name}:`) || line.startsWith(`${e.name} [`));
    if (head > 0) stack = stack.slice(head);
    const traceback = interrupted ? [`${ename}: ${evalue}`] : stack.filter((line: string) => !INTERNAL_FRAME.test(line));
    return { ename, evalue, traceback: [...diagnostics, ...traceback] };
  }
  const text = inspect(e);
  return { ename: 'Uncaught', evalue: text, traceback: [`Uncaught ${text}`] };
}

/** An Error, or anything thrown that looks like one (an error of another realm, a plain object with a message). */
interface ErrorLike {
  message: string;
  name?: unknown;
  code?: unknown;
  stack?: unknown;
}

function isErrorLike(e: unknown): e is ErrorLike {
  return e instanceof Error || (isRecord(e) && typeof e.message === 'string');
}
