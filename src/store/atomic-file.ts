import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Replace `file` with `data` so that a crash at any moment leaves either the
 * old or the new content, never a torn file: write a temp file in the same
 * directory, fsync it, rename over the target, fsync the directory.
 */
export function writeFileAtomicSync(file: string, data: Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  syncDirectory(dir);
}

export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse to fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Append one line and make it durable before returning. */
export function appendLineDurableSync(file: string, line: string): void {
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.writeSync(fd, line.endsWith('\n') ? line : line + '\n');
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
