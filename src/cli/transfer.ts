import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, InvalidInputError } from '../errors';
import { writeFileAtomicSync } from '../store/atomic-file';
import { recordImport } from '../store/imported';
import type { Store } from '../store/store';
import { openStore, readDispatchByPrefix } from './cli-store';
import type { ExportedDispatch } from './export-format';

// The format module (its schema compiled with ajv) is loaded by the two commands that use it only.
const format = () => import('./export-format');

/** A dispatch and every sublattice dispatch under it, parent first. */
async function family(store: Store, id: string): Promise<ExportedDispatch[]> {
  const { exportedDispatch } = await format();
  const out: ExportedDispatch[] = [];
  const queue = [id];
  const seen = new Set<string>();
  while (queue.length) {
    const next = queue.shift()!;
    if (seen.has(next)) continue;
    seen.add(next);
    const stored = store.readDispatch(next);
    if (!stored) continue;
    out.push(exportedDispatch(stored.dispatch, stored.nodes));
    for (const n of stored.nodes) if (n.subDispatchId) queue.push(n.subDispatchId);
  }
  return out;
}

async function readExport(file: string) {
  const { checkExportFile } = await format();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidInputError(ErrorCodes.UNREADABLE_FILE, `Cannot read ${file}: ${(e as Error).message}.`, { cause: e });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InvalidInputError(ErrorCodes.UNREADABLE_FILE, `${file} is not a covalent-ts export (not JSON: ${(e as Error).message}).`, { cause: e });
  }
  const parsed = checkExportFile(data, file);
  for (const d of parsed.dispatches) {
    d.nodes.forEach((n, i) => {
      if (n.id !== i) throw new InvalidInputError(ErrorCodes.UNREADABLE_FILE, `${file}: the tasks of dispatch ${d.id} are not numbered 0..${d.nodes.length - 1} in order.`);
    });
  }
  return parsed;
}

export function registerTransferCommands(program: Command): void {
  program
    .command('export')
    .description('Write a dispatch (graph, statuses, timings, cancel records, small outputs; no secrets) to one file another user can import.')
    .argument('<id>', 'dispatch id, or a unique prefix of one')
    .option('-o, --out <file>', 'where to write (default: <id>.ct.json in the current directory; "-" for stdout)')
    .addHelpText(
      'after',
      `
Examples:
  $ covalent-ts export 3f2a --out run-42.ct.json
  $ covalent-ts export 3f2a --out - | gzip > run-42.ct.json.gz

The file holds no executor configuration, key or passphrase. Outputs over 64 KiB are left out (the file says which).`,
    )
    .action(async (idOrPrefix: string, opts: { out?: string }) => {
      const { store, home } = await openStore();
      const { dispatch } = readDispatchByPrefix(store, home, idOrPrefix);
      const doc = (await format()).exportFile(home, dispatch.ownerPid, await family(store, dispatch.dispatchId));
      const bytes = Buffer.from(JSON.stringify(doc, null, 1) + '\n');
      if (opts.out === '-') {
        process.stdout.write(bytes);
        return;
      }
      const file = path.resolve(opts.out ?? `${dispatch.dispatchId}.ct.json`);
      try {
        writeFileAtomicSync(file, bytes);
      } catch (e) {
        throw new InvalidInputError(ErrorCodes.UNREADABLE_FILE, `Cannot write ${file}: ${(e as Error).message}. Choose another --out.`, { cause: e });
      }
      process.stderr.write(`covalent-ts: exported dispatch ${dispatch.dispatchId} (${doc.dispatches.length} dispatch${doc.dispatches.length > 1 ? 'es' : ''}) to ${file}\n`);
      process.stdout.write(`${file}\n`);
    });

  program
    .command('import')
    .description('Add a dispatch exported by `covalent-ts export` to this store (CT_HOME), read-only.')
    .argument('<file>', 'the export file')
    .addHelpText(
      'after',
      `
Examples:
  $ covalent-ts import run-42.ct.json
  $ covalent-ts status <id>          shown like any other, marked as imported

An imported dispatch says where it came from and cannot be cancelled here (its jobs are its owner's).`,
    )
    .action(async (file: string) => {
      const doc = await readExport(path.resolve(file));
      const { importedRows } = await format();
      const { store, home } = await openStore();
      const top = doc.dispatches[0];
      const existing = doc.dispatches.find((d) => store.readDispatch(d.id));
      if (existing) {
        throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `Dispatch ${existing.id} is already in the store at ${home}; nothing was imported.`);
      }
      const importedAt = new Date().toISOString();
      // The read-only mark first: at no moment may the dispatch look like an orphan of ours to cancel.
      for (const d of doc.dispatches) {
        recordImport(home, {
          dispatchId: d.id, home: doc.exportedBy.home, host: doc.exportedBy.host, user: doc.exportedBy.user ?? null,
          exportedAt: doc.exportedAt, importedAt, file: path.resolve(file), formatVersion: doc.formatVersion,
        });
        store.touchAll(d.id, importedRows(d, doc.exportedBy));
      }
      await store.close();
      process.stderr.write(`covalent-ts: imported dispatch ${top.id} (${top.name}) from ${doc.exportedBy.user ?? 'someone'} on ${doc.exportedBy.host}, read-only\n`);
      process.stdout.write(`${top.id}\n`);
    });
}
