// Content stamps: a build step is skipped when the SHA-256 of its inputs (every
// file's path and bytes) matches the stamp its last successful run left, and its
// outputs are still there. Timestamps are not trusted: a checkout, a copy or an
// editor that rewrites a file unchanged must not force a rebuild.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

/** Folders never read as inputs: dependencies and build outputs. */
const NEVER = new Set(['node_modules', 'dist', 'lib', 'prebuilt', 'build', '.git', 'test-artifacts']);

function walk(p, out, top = true) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return; // a missing input hashes as absent
  }
  if (st.isDirectory()) {
    if (!top && NEVER.has(path.basename(p))) return;
    for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name), out, false);
  } else if (st.isFile()) {
    out.push(p);
  }
}

/** Hash of the inputs (files or folders, relative to `root`). */
function digest(root, inputs) {
  const h = crypto.createHash('sha256');
  for (const input of inputs) {
    const files = [];
    walk(path.join(root, input), files);
    h.update(`input ${input}\0`);
    for (const f of files) {
      h.update(`${path.relative(root, f)}\0`);
      h.update(fs.readFileSync(f));
      h.update('\0');
    }
  }
  return h.digest('hex');
}

function stampFile(root, name) {
  return path.join(root, 'node_modules', '.cache', 'covalent-ts-build', `${name}.sha256`);
}

/** True when `name` last ran on exactly these inputs and every output exists. */
function isFresh(root, name, hash, outputs) {
  if (!outputs.every(o => fs.existsSync(path.join(root, o)))) return false;
  try {
    return fs.readFileSync(stampFile(root, name), 'utf8').trim() === hash;
  } catch {
    return false;
  }
}

function record(root, name, hash) {
  const file = stampFile(root, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${hash}\n`);
}

module.exports = { digest, isFresh, record };
