'use strict';
// Makes the package's bin files (package.json "bin") executable. tsc writes its
// outputs 0644, and `npm exec covalent-ts` / `npx covalent-ts` in a checkout runs
// the bin file itself, so a fresh build must leave it executable: npm sets the
// mode only when it links a package it installs, never in the project's own tree.
// Run after every build of dist/ (`npm run build` through postbuild, and
// scripts/build.js's core step).
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

function makeBinsExecutable() {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
  for (const rel of new Set(bins)) {
    const file = path.join(ROOT, rel);
    if (!fs.existsSync(file)) continue;
    // Executable for everyone who can read it (u+x, and g+x/o+x where readable).
    const mode = fs.statSync(file).mode & 0o777;
    const want = mode | ((mode & 0o444) >> 2);
    if (want !== mode) fs.chmodSync(file, want);
  }
}

module.exports = { makeBinsExecutable };
if (require.main === module) makeBinsExecutable();
