// Bundles the host app. Module federation makes the host the provider of the
// shared JupyterLab singletons (the same list JupyterLab itself shares, read
// from @jupyterlab/core-meta), so a prebuilt extension gets the host's
// INotebookTracker and not a copy of its own.
const path = require('path');
const webpack = require('webpack');
const baseConfig = require('@jupyterlab/builder/lib/webpack.config.base');

const core = require('@jupyterlab/core-meta/core.package.json');
const singletons = new Set(core.jupyterlab.singletonPackages);

function resolvable(name) {
  try {
    require.resolve(`${name}/package.json`, { paths: [__dirname] });
    return true;
  } catch {
    return false;
  }
}

const shared = {};
for (const name of Object.keys(core.resolutions)) {
  if (resolvable(name)) {
    shared[name] = { singleton: singletons.has(name), requiredVersion: core.resolutions[name] };
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
