#!/usr/bin/env bash
# Debian packages the kernel tests need: jupyter_kernel_test (protocol conformance),
# nbclient (runs examples/*.ipynb), jupyter_client and nbformat. They live in
# Debian's Python, so tests call /usr/bin/python3. Idempotent: does nothing when
# everything is present, runs `apt-get update` only when a package is missing.
set -euo pipefail

# jupyter-core and jupyter-client give the `jupyter` / `jupyter kernelspec` commands users run.
PKGS=(python3-jupyter-kernel-test python3-nbclient python3-jupyter-client python3-nbformat python3-jupyter-core jupyter-core jupyter-client)

# dpkg's record, not a Python import: this runs on every `npm start` and must be quick.
check() {
  [ "$(dpkg-query -W -f='${Status}\n' "${PKGS[@]}" 2>/dev/null | grep -c '^install ok installed$')" -eq "${#PKGS[@]}" ]
}

if check; then
  echo "setup-kernel: python3 jupyter packages already installed"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends "${PKGS[@]}"; then
  apt-get update -o DPkg::Lock::Timeout=600
  apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends "${PKGS[@]}"
fi
check
/usr/bin/python3 -c 'import jupyter_kernel_test, nbclient, jupyter_client, nbformat'
echo "setup-kernel: ok"
