// Merged by @jupyterlab/builder into the prebuilt extension's webpack config
// (package.json "jupyterlab.webpackConfig"). The extension imports the comm
// protocol as the package path `covalent-ts-protocol` (tsconfig "paths" for the
// types); here the same name resolves to the protocol tsc compiled into lib/.
const path = require('path');

module.exports = {
  resolve: {
    alias: {
      'covalent-ts-protocol$': path.join(__dirname, 'lib', 'src', 'protocol', 'browser.js')
    }
  }
};
