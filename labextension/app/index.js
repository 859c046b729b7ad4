// Entry of the host app. Shared modules (even @jupyterlab/coreutils) cannot be
// used before module federation has set up the share scope, so the page config
// is read by hand here and the app itself sits behind a dynamic import (the
// "async boundary").
function getOption(name) {
  const el = document.getElementById('jupyter-config-data');
  const config = el ? JSON.parse(el.textContent || '{}') : {};
  return config[name] || '';
}

// eslint-disable-next-line no-undef
__webpack_public_path__ = getOption('fullStaticUrl') + '/';

import('./bootstrap').catch(err => {
  console.error('covalent-ts lab host failed to start', err);
  document.body.textContent = `JupyterLab failed to start: ${err && err.message}`;
});
