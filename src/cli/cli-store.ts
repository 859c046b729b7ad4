import { InvalidArgumentError } from 'commander';
import { Store } from '../store/store';
import { ctHome } from '../store/ct-home';
import { importRecordOf } from '../store/imported';
import { resolveDispatchId } from './resolve-id';
import type { DispatchRow, NodeRow } from '../store/schema';
import type { ImportRecord } from '../store/imported';

/** The store every process of this user shares (`CT_HOME`), opened for reading. */
export async function openStore(): Promise<{ store: Store; home: string }> {
  const home = ctHome();
  return { store: await Store.open(home), home };
}

export interface StoredDispatch {
  dispatch: DispatchRow;
  nodes: NodeRow[];
  imported: ImportRecord | null;
}

/** A dispatch named by its id or a unique prefix, with its nodes. */
export function readDispatchByPrefix(store: Store, home: string, idOrPrefix: string): StoredDispatch {
  const id = resolveDispatchId(idOrPrefix, store.listDispatchRows().map((r) => r.dispatchId), home);
  const stored = store.readDispatch(id)!;
  return { ...stored, imported: importRecordOf(home, id) };
}

/** Commander parser for a positive integer option. */
export function positiveInteger(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1, got "${value}".`);
    return n;
  };
}
