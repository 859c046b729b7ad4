#!/usr/bin/env node
// Builds what is out of date, and nothing else: `node scripts/build.js [core] [lab] [prebuilt]`.
//   core      the library, CLI and kernel (tsc -> dist/)
//   prebuilt  the extension's own dependencies, its library and the prebuilt
//             (federated) extension in labextension/prebuilt (what `npm pack` ships)
//   lab       prebuilt, plus the JupyterLab host app (labextension/app/build)
// Each step runs only when the content of its inputs changed (scripts/content-stamp.js).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { digest, isFresh, record } = require('./content-stamp');
const { makeBinsExecutable } = require('./bin-modes');

const ROOT = path.resolve(__dirname, '..');
const LAB = path.join(ROOT, 'labextension');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The extension's node_modules match its lockfile (npm's own record of what it installed). */
function labDepsInstalled() {
  try {
    const want = JSON.parse(fs.readFileSync(path.join(LAB, 'package-lock.json'), 'utf8')).packages;
    const have = JSON.parse(fs.readFileSync(path.join(LAB, 'node_modules', '.package-lock.json'), 'utf8')).packages;
    return Object.entries(want).every(([key, p]) => key === '' || p.optional || (have[key] && have[key].version === p.version));
  } catch {
    return false;
  }
}

const STEPS = {
  'lab-deps': {
    fresh: labDepsInstalled,
    run: [npm, ['ci', '--no-audit', '--no-fund'], LAB],
    what: "the extension's dependencies (npm ci in labextension/)"
  },
  core: {
    inputs: ['src', 'kernel', 'bench', 'examples', 'tsconfig.json', 'package.json'],
    outputs: ['dist/src/cli/main.js', 'dist/kernel/main.js'],
    run: [process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], ROOT],
    what: 'the library, CLI and kernel (dist/)'
  },
  'lab-lib': {
    inputs: ['labextension/src', 'labextension/tsconfig.json', 'src/protocol'],
    outputs: ['labextension/lib/labextension/src/index.js'],
    run: [process.execPath, [path.join(LAB, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], LAB],
    what: "the extension's library (labextension/lib)"
  },
  'lab-prebuilt': {
    inputs: ['labextension/lib', 'style', 'labextension/package.json', 'labextension/scripts', 'labextension/webpack.config.js'],
    outputs: ['labextension/prebuilt/package.json'],
    run: [npm, ['run', '--silent', 'build:prebuilt'], LAB],
    what: 'the prebuilt extension (labextension/prebuilt)'
  },
  'lab-app': {
    inputs: ['labextension/app', 'labextension/lib', 'style', 'labextension/package.json'],
    outputs: ['labextension/app/build/static/main.js'],
    run: [npm, ['run', '--silent', 'build:app'], LAB],
    what: 'the JupyterLab host app (labextension/app/build)'
  }
};

const TARGETS = {
  core: ['core'],
  prebuilt: ['lab-deps', 'lab-lib', 'lab-prebuilt'],
  lab: ['lab-deps', 'lab-lib', 'lab-prebuilt', 'lab-app']
};

function runStep(name) {
  const step = STEPS[name];
  const hash = step.inputs ? digest(ROOT, step.inputs) : null;
  if (step.fresh ? step.fresh() : isFresh(ROOT, name, hash, step.outputs)) return false;
  const [cmd, args, cwd] = step.run;
  const started = Date.now();
  process.stderr.write(`build: ${step.what}...\n`);
  // Tools' chatter goes to stderr: stdout stays clean for callers such as `npm pack --json`.
  const r = spawnSync(cmd, args, { cwd, stdio: ['inherit', 2, 2] });
  if (r.status !== 0) {
    process.stderr.write(`build: building ${step.what} failed (${cmd} ${args.join(' ')} in ${path.relative(ROOT, cwd) || '.'}).\n`);
    process.exit(r.status || 1);
  }
  if (hash) record(ROOT, name, hash);
  process.stderr.write(`build: ${step.what} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return true;
}

const wanted = process.argv.slice(2);
for (const t of wanted) {
  if (!TARGETS[t]) {
    process.stderr.write(`build: unknown target "${t}"; use ${Object.keys(TARGETS).join(', ')}.\n`);
    process.exit(2);
  }
}
const order = [...new Set((wanted.length ? wanted : ['core', 'lab']).flatMap(t => TARGETS[t]))];
for (const name of order) runStep(name);
// Also when nothing was rebuilt: a dist/ from `tsc` alone has 0644 bins.
if (order.includes('core')) makeBinsExecutable();
