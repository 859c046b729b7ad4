#!/usr/bin/env bash
# Installs and builds what the JupyterLab extension's tests need. Idempotent.
#  - Debian: headless Chromium for the browser tests, and Debian's Python
#    jupyter_server + jupyterlab_server, which serve our JupyterLab host app
#    (PyPI is not reachable, so there is no `jupyterlab` Python package).
#  - npm: the extension's own dependency tree (labextension/), then the
#    prebuilt extension (labextension/prebuilt) and the host app
#    (labextension/app/build) via `npm run build:lab`; each step runs only
#    when its inputs changed (scripts/build.js, content stamps), so a warm
#    `npm start` does not reinstall or rebuild anything.
# Nothing is started here: the tests start their own servers and browsers.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(chromium fonts-dejavu-core python3-jupyter-server python3-jupyterlab-server python3-nbformat procps)

# One dpkg-query for all of them: this runs on every `npm start`.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PKGS[@]}" 2>/dev/null | awk '/ install ok installed$/ {print $1}' || true)
missing=()
for p in "${PKGS[@]}"; do
  grep -qx "$p" <<<"$installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -o DPkg::Lock::Timeout=600
  apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
  # Debian's Python must see the Jupyter packages (the python3 on PATH may not).
  /usr/bin/python3 -c 'import jupyter_server, jupyterlab_server'
fi

node scripts/build.js lab
test -f labextension/prebuilt/package.json
test -f labextension/app/build/static/main.js
