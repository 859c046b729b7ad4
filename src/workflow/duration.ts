import { ErrorCodes, InvalidInputError } from '../errors';

/** A wall-clock duration: milliseconds, or a string like `'90s'`, `'10m'`, `'2h'`, `'1h30m'`. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy;

/**
 * Milliseconds of a duration, or a CT_INVALID_ARGUMENT naming `what` and
 * the accepted forms. The one parser of durations (electron, lattice and
 * dispatch limits all go through it).
 */
export function parseDuration(value: unknown, what: string): number {
  let ms = NaN;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') ms = parseDurationString(value.trim());
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new InvalidInputError(
      ErrorCodes.INVALID_ARGUMENT,
      `${what} must be a positive duration: milliseconds (a number) or a string like '90s', '10m', '2h' or '1h30m'; got ${JSON.stringify(value) ?? String(value)}.`,
      { details: { value: typeof value === 'string' || typeof value === 'number' ? value : String(value) } },
    );
  }
  return ms;
}

function parseDurationString(text: string): number {
  if (!text) return NaN;
  PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let m = PART.exec(text); m; m = PART.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    end = PART.lastIndex;
    while (text[PART.lastIndex] === ' ') PART.lastIndex++;
  }
  return end === text.length ? total : NaN;
}

/** A duration for people: `90s`, `10m`, `2h 5m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', rest && !h ? `${rest}s` : ''].filter(Boolean).join(' ');
}
