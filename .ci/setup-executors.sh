#!/usr/bin/env bash
# Installs what the executor tests need: OpenSSH server and a single-node
# Slurm (slurmctld, slurmd, client tools, munge). Idempotent. The test run
# starts and stops private daemons itself (test/executors/support/), so this
# script only installs packages and never starts anything.
set -euo pipefail

PKGS=(openssh-server openssh-client slurmctld slurmd slurm-client munge procps)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
fi

# Debian's packages start their system services when a service manager is
# present; the tests run their own private instances instead.
for svc in ssh slurmctld slurmd munge; do
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done

for bin in /usr/sbin/sshd /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged /usr/bin/sbatch /usr/bin/scontrol /usr/bin/scancel; do
  if [ ! -x "$bin" ]; then
    echo "setup-executors: $bin is missing after installation" >&2
    exit 1
  fi
done
echo "setup-executors: openssh-server, slurm and munge are installed"
