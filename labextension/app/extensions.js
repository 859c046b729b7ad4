// The standard JupyterLab plugins the host registers. Shared by the bundle
// (index.js) and the build script (schemas and themes are copied for these).
module.exports = {
  extensions: [
    '@jupyterlab/application-extension',
    '@jupyterlab/apputils-extension',
    '@jupyterlab/cell-toolbar-extension',
    '@jupyterlab/codemirror-extension',
    '@jupyterlab/completer-extension',
    '@jupyterlab/console-extension',
    '@jupyterlab/docmanager-extension',
    '@jupyterlab/documentsearch-extension',
    '@jupyterlab/filebrowser-extension',
    '@jupyterlab/fileeditor-extension',
    '@jupyterlab/help-extension',
    '@jupyterlab/launcher-extension',
    '@jupyterlab/lsp-extension',
    '@jupyterlab/mainmenu-extension',
    '@jupyterlab/markdownviewer-extension',
    '@jupyterlab/markedparser-extension',
    '@jupyterlab/metadataform-extension',
    '@jupyterlab/notebook-extension',
    '@jupyterlab/rendermime-extension',
    '@jupyterlab/running-extension',
    '@jupyterlab/services-extension',
    '@jupyterlab/shortcuts-extension',
    '@jupyterlab/statusbar-extension',
    '@jupyterlab/theme-dark-extension',
    '@jupyterlab/theme-light-extension',
    '@jupyterlab/toc-extension',
    '@jupyterlab/tooltip-extension',
    '@jupyterlab/translation-extension',
    '@jupyterlab/ui-components-extension'
  ],
  mimeExtensions: ['@jupyterlab/javascript-extension', '@jupyterlab/json-extension'],
  themes: ['@jupyterlab/theme-light-extension', '@jupyterlab/theme-dark-extension']
};
