// A JupyterLab 4 frontend assembled from the npm @jupyterlab/* packages that
// loads prebuilt (federated) extensions the way JupyterLab does: from the
// `federated_extensions` list jupyterlab_server puts in the page config.
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { JupyterLab } from '@jupyterlab/application';
import './styles';

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.onerror = () => reject(new Error(`Could not load ${url}`));
    script.onload = resolve;
    script.async = true;
    script.src = url;
    document.head.appendChild(script);
  });
}

/** Load one prebuilt extension's container and the named module from it. */
async function loadFederated(ext, moduleName) {
  // eslint-disable-next-line no-undef
  await __webpack_init_sharing__('default');
  const container = window._JUPYTERLAB[ext.name];
  // eslint-disable-next-line no-undef
  await container.init(__webpack_share_scopes__.default);
  const factory = await container.get(moduleName);
  return factory();
}

function pluginsOf(mod) {
  const exported = mod && mod.__esModule ? mod.default : mod;
  return Array.isArray(exported) ? exported : [exported];
}

async function main() {
  const plugins = [];
  const mimeExtensions = [];
  const core = [
    import('@jupyterlab/application-extension'),
    import('@jupyterlab/apputils-extension'),
    import('@jupyterlab/cell-toolbar-extension'),
    import('@jupyterlab/codemirror-extension'),
    import('@jupyterlab/completer-extension'),
    import('@jupyterlab/console-extension'),
    import('@jupyterlab/docmanager-extension'),
    import('@jupyterlab/documentsearch-extension'),
    import('@jupyterlab/filebrowser-extension'),
    import('@jupyterlab/fileeditor-extension'),
    import('@jupyterlab/help-extension'),
    import('@jupyterlab/launcher-extension'),
    import('@jupyterlab/lsp-extension'),
    import('@jupyterlab/mainmenu-extension'),
    import('@jupyterlab/markdownviewer-extension'),
    import('@jupyterlab/markedparser-extension'),
    import('@jupyterlab/metadataform-extension'),
    import('@jupyterlab/notebook-extension'),
    import('@jupyterlab/rendermime-extension'),
    import('@jupyterlab/running-extension'),
    import('@jupyterlab/services-extension'),
    import('@jupyterlab/shortcuts-extension'),
    import('@jupyterlab/statusbar-extension'),
    import('@jupyterlab/theme-dark-extension'),
    import('@jupyterlab/theme-light-extension'),
    import('@jupyterlab/toc-extension'),
    import('@jupyterlab/tooltip-extension'),
    import('@jupyterlab/translation-extension'),
    import('@jupyterlab/ui-components-extension')
  ];
  for (const mod of await Promise.all(core)) {
    plugins.push(...pluginsOf(mod));
  }
  for (const mod of await Promise.all([
    import('@jupyterlab/javascript-extension'),
    import('@jupyterlab/json-extension')
  ])) {
    mimeExtensions.push(...pluginsOf(mod));
  }

  // Prebuilt extensions, exactly as installed in the labextensions path.
  const federated = JSON.parse(PageConfig.getOption('federated_extensions') || '[]');
  const base = PageConfig.getOption('fullLabextensionsUrl');
  const loaded = [];
  await Promise.all(
    federated.map(async ext => {
      try {
        await loadScript(URLExt.join(base, ext.name, ext.load));
        if (ext.style) {
          await loadFederated(ext, ext.style);
        }
        if (ext.extension) {
          plugins.push(...pluginsOf(await loadFederated(ext, ext.extension)));
        }
        if (ext.mimeExtension) {
          mimeExtensions.push(...pluginsOf(await loadFederated(ext, ext.mimeExtension)));
        }
        loaded.push(ext.name);
      } catch (err) {
        console.error(`Failed to load prebuilt extension ${ext.name}`, err);
      }
    })
  );

  const lab = new JupyterLab({ mimeExtensions });
  lab.registerPluginModules(plugins);
  // Tests and tools find the app here (galata uses the same name).
  window.jupyterapp = lab;
  window.covalentLabHost = { federatedLoaded: loaded };
  await lab.start({ ignorePlugins: JSON.parse(PageConfig.getOption('ignorePlugins') || '[]') });
  await lab.restored;
  document.body.dataset.labReady = 'true';
}

void main();
