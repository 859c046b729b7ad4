// build-labextension needs JupyterLab's core package.json to know which
// packages the host shares. Without the Python jupyterlab package we take it
// from the npm package @jupyterlab/core-meta, and keep it under node_modules so
// it is never committed.
const fs = require('fs');
const path = require('path');

const src = require.resolve('@jupyterlab/core-meta/core.package.json');
const dir = path.join(__dirname, '..', 'node_modules', '.covalent-core');
fs.mkdirSync(dir, { recursive: true });
fs.copyFileSync(src, path.join(dir, 'package.json'));
console.log(`core metadata: ${path.relative(process.cwd(), dir)}/package.json`);
