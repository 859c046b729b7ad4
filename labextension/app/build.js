// Builds the host app: the webpack bundle, plus the plugin settings schemas
// and theme CSS that jupyterlab_server serves from the app directory.
const fs = require('fs');
const path = require('path');
const webpack = require('webpack');
const { extensions, mimeExtensions, themes } = require('./extensions');

const build = path.join(__dirname, 'build');
const production = process.argv.includes('--production');

function pkgDir(name) {
  return path.dirname(require.resolve(`${name}/package.json`, { paths: [__dirname] }));
}

function copySchemas() {
  const out = path.join(build, 'schemas');
  fs.rmSync(out, { recursive: true, force: true });
  for (const name of [...extensions, ...mimeExtensions]) {
    const dir = pkgDir(name);
    const pkg = require(path.join(dir, 'package.json'));
    const schemaDir = pkg.jupyterlab && pkg.jupyterlab.schemaDir;
    if (!schemaDir || !fs.existsSync(path.join(dir, schemaDir))) {
      continue;
    }
    const dest = path.join(out, name);
    fs.mkdirSync(dest, { recursive: true });
    for (const f of fs.readdirSync(path.join(dir, schemaDir))) {
      if (f.endsWith('.json')) {
        fs.copyFileSync(path.join(dir, schemaDir, f), path.join(dest, f));
      }
    }
    // jupyterlab_server reads the package version next to the schemas.
    fs.writeFileSync(path.join(dest, 'package.json.orig'), JSON.stringify(pkg, null, 2));
  }
}

function copyThemes() {
  const out = path.join(build, 'themes');
  fs.rmSync(out, { recursive: true, force: true });
  for (const name of themes) {
    const dir = pkgDir(name);
    const dest = path.join(out, name);
    fs.mkdirSync(dest, { recursive: true });
    // theme.css imports variables.css; neither references other files.
    fs.copyFileSync(path.join(dir, 'style', 'variables.css'), path.join(dest, 'variables.css'));
    fs.copyFileSync(path.join(dir, 'style', 'theme.css'), path.join(dest, 'index.css'));
  }
}

function writeOverrides() {
  // No news polling and no "check for updates" prompts in a private test session.
  const dir = path.join(build, 'settings');
  fs.mkdirSync(dir, { recursive: true });
  const overrides = {
    '@jupyterlab/apputils-extension:notification': { checkForUpdates: false, fetchNews: 'false' }
  };
  fs.writeFileSync(path.join(dir, 'overrides.json'), JSON.stringify(overrides, null, 2));
}

const started = Date.now();
webpack(require('./webpack.config.js')({ production }), (err, stats) => {
  if (err || stats.hasErrors()) {
    console.error(err || stats.toString('errors-only'));
    process.exit(1);
  }
  copySchemas();
  copyThemes();
  writeOverrides();
  console.log(`host app built in ${((Date.now() - started) / 1000).toFixed(1)} s -> ${path.relative(process.cwd(), build)}`);
});
