import Table = require('cli-table3');
import { createColors } from 'picocolors';

/**
 * How a command prints: aligned tables for a person at a terminal, plain
 * tab-separated lines for a pipe (one record a line, a header first), JSON
 * with `--json`. Colour only ever adds to text that already says everything,
 * and is off when piped or when NO_COLOR is set (https://no-color.org).
 */
export interface Output {
  readonly tty: boolean;
  readonly color: ReturnType<typeof createColors>;
  /** Width of the terminal, or undefined when piped. */
  readonly columns: number | undefined;
}

export function outputFor(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): Output {
  const tty = stream.isTTY === true;
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return { tty, color: createColors(tty && !noColor && env.TERM !== 'dumb'), columns: tty ? stream.columns : undefined };
}

export interface Column<R> {
  header: string;
  /** The cell's text (no colour): what TSV and width computations use. */
  text(row: R): string;
  /** Optional colour for the TTY table (applied to `text`). */
  paint?(text: string, row: R, out: Output): string;
  align?: 'left' | 'right';
}

/** A table of `rows`: aligned on a TTY, TSV when piped. Ends with a newline. */
export function renderTable<R>(out: Output, columns: Column<R>[], rows: R[]): string {
  if (!out.tty) {
    const clean = (s: string) => s.replace(/[\t\r\n]+/g, ' ');
    return [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => clean(c.text(r))))].map((l) => l.join('\t')).join('\n') + '\n';
  }
  const table = new Table({
    head: columns.map((c) => out.color.bold(c.header)),
    colAligns: columns.map((c) => c.align ?? 'left'),
    // Borderless, two spaces between columns: reads like `ps` or `kubectl get`.
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of rows) table.push(columns.map((c) => (c.paint ? c.paint(c.text(r), r, out) : c.text(r))));
  return table.toString().split('\n').map((l) => l.trimEnd()).join('\n') + '\n';
}

/** `--json` output: stable keys, two-space indent, one trailing newline. */
export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** A status word, coloured on a TTY by what it means for the user. */
export function paintStatus(status: string, out: Output): string {
  const c = out.color;
  switch (status) {
    case 'COMPLETED':
      return c.green(status);
    case 'FAILED':
      return c.red(status);
    case 'CANCELLED':
      return c.yellow(status);
    case 'RUNNING':
    case 'QUEUED':
    case 'CANCELLING':
      return c.cyan(status);
    default:
      return status;
  }
}
