// Bundles the host app. Module federation makes the host the provider of the
// shared JupyterLab singletons (the same list JupyterLab itself shares, read
// from @jupyterlab/core-meta), so a prebuilt extension gets the host's
// INotebookTracker and not a copy of its own.
const path = require('path');
const webpack = require('webpack');
const baseConfig = require('@jupyterlab/builder/lib/webpack.config.base');

const core = require('@jupyterlab/core-meta/core.package.json');
const singletons = new Set(core.jupyterlab.singletonPackages);

function installedVersion(name) {
  try {
    return require(require.resolve(`${name}/package.json`, { paths: [__dirname] })).version;
  } catch {
    return null;
  }
}

// The host provides what it has installed; a few of our pins are newer than
// core-meta's ranges (e.g. @jupyter/web-components 0.17 for ui-components 4.6.6).
const shared = {};
for (const name of Object.keys(core.resolutions)) {
  const version = installedVersion(name);
  if (version) {
    shared[name] = { singleton: singletons.has(name), requiredVersion: `^${version}` };
  }
}

module.exports = (env = {}) => ({
  mode: env.production ? 'production' : 'development',
  devtool: false,
  entry: { main: path.join(__dirname, 'index.js') },
  output: {
    path: path.join(__dirname, 'build', 'static'),
    filename: '[name].js',
    chunkFilename: '[name].[contenthash].js',
    publicPath: 'auto',
    clean: true
  },
  module: { rules: baseConfig.module.rules },
  resolve: { ...(baseConfig.resolve || {}), fallback: { ...(baseConfig.resolve?.fallback || {}) } },
  performance: { hints: false },
  stats: 'errors-warnings',
  plugins: [
    ...(baseConfig.plugins || []).filter(p => p instanceof webpack.ProvidePlugin),
    new webpack.container.ModuleFederationPlugin({
      library: { type: 'var', name: ['_JUPYTERLAB', 'CORE_LIBRARY_FEDERATION'] },
      name: 'CORE_FEDERATION',
      shared
    })
  ]
});
