#!/usr/bin/env bash
# Private daemons for the executor tests and benchmarks:
#   - an sshd on 127.0.0.1 (free port, own host key, root + a non-root user)
#   - a single-node Slurm cluster (munged, slurmctld, slurmd) under the same dir
#
#   executors.sh start DIR   start everything under DIR (created), write DIR/env.json
#   executors.sh stop DIR    cancel leftover jobs, stop the daemons, kill leftover
#                            task processes started under DIR, remove DIR
#
# Nothing here touches the system's own ssh or Slurm configuration. Every
# daemon is started by absolute path with its config under DIR, and stopped by
# the pid it wrote there.
set -euo pipefail

TEST_USER="${CT_TEST_USER:-ctuser}"
USER_KEY_PASSPHRASE="ct-test-passphrase"

die() { echo "executors.sh: $*" >&2; exit 1; }

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local secs="$1" what="$2"; shift 2
  local end=$(( $(date +%s) + secs ))
  while ! "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then return 1; fi
    sleep 0.1
  done
  echo "executors.sh: $what ready" >&2
}

start_slurm() { # start_slurm DIR NAME CLUSTER PROCTRACK MAX_ARRAY_SIZE: slurmctld + slurmd under DIR/NAME
  local dir="$1" name="$2" cluster="$3" proctrack="$4" max_array="$5" sd="$1/$2"
  mkdir -p "$sd/state" "$sd/spool" "$sd/log"
  local ctld_port slurmd_port
  ctld_port="$(free_port)"; slurmd_port="$(free_port)"
  while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port="$(free_port)"; done
  cat >"$sd/cgroup.conf" <<CONF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=no
ConstrainRAMSpace=no
CONF
  cat >"$sd/slurm.conf" <<CONF
ClusterName=$cluster
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/run/munge.socket.2
StateSaveLocation=$sd/state
SlurmdSpoolDir=$sd/spool
SlurmctldPidFile=$sd/slurmctld.pid
SlurmdPidFile=$sd/slurmd.pid
SlurmctldLogFile=$sd/log/slurmctld.log
SlurmdLogFile=$sd/log/slurmd.log
ProctrackType=$proctrack
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
MinJobAge=300
KillWait=5
MaxArraySize=$max_array
SchedulerParameters=batch_sched_delay=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=2048 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  SLURM_CONF="$sd/slurm.conf" /usr/sbin/slurmctld -f "$sd/slurm.conf" || die "slurmctld ($name) did not start; see $sd/log/slurmctld.log"
  SLURM_CONF="$sd/slurm.conf" /usr/sbin/slurmd -f "$sd/slurm.conf" -N localhost || die "slurmd ($name) did not start; see $sd/log/slurmd.log"
  node_idle() { SLURM_CONF="$sd/slurm.conf" scontrol show node localhost 2>/dev/null | grep -Eq 'State=IDLE'; }
  wait_for 30 "slurm ($name, $proctrack) node localhost idle" node_idle || die "the Slurm node ($name) did not become idle; see $sd/log/"
  echo "executors.sh: $name: slurmctld :$ctld_port, slurmd :$slurmd_port, $proctrack" >&2
}

start() {
  local dir="$1"
  for bin in /usr/sbin/sshd /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged /usr/sbin/mungekey /usr/bin/ssh-keygen /usr/bin/sbatch /usr/bin/scontrol; do
    [ -x "$bin" ] || die "$bin is missing: run .ci/setup-executors.sh first (installs openssh-server, slurmctld, slurmd, slurm-client, munge)"
  done
  [ "$(id -u)" = 0 ] || die "must run as root (starts sshd and slurmd, creates the test user)"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  chmod 755 "$dir"
  mkdir -p "$dir/ssh/auth" "$dir/keys" "$dir/work/root" "$dir/work/$TEST_USER" "$dir/slurm/state" "$dir/slurm/spool" "$dir/slurm/log" "$dir/munge/run" "$dir/munge/lib" "$dir/munge/etc"

  # --- test user -----------------------------------------------------------
  if ! id "$TEST_USER" >/dev/null 2>&1; then
    useradd -m -s /bin/sh "$TEST_USER"
  fi
  usermod -p '*' "$TEST_USER"   # locked password but key logins allowed
  chown "$TEST_USER:" "$dir/work/$TEST_USER"

  # --- sshd ----------------------------------------------------------------
  mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -C ct-test-host -f "$dir/ssh/host_ed25519" </dev/null
  ssh-keygen -q -t ed25519 -N '' -C ct-test-root -f "$dir/keys/id_root" </dev/null
  ssh-keygen -q -t ed25519 -N "$USER_KEY_PASSPHRASE" -C ct-test-user -f "$dir/keys/id_user" </dev/null
  cp "$dir/keys/id_root.pub" "$dir/ssh/auth/root"
  cp "$dir/keys/id_user.pub" "$dir/ssh/auth/$TEST_USER"
  chmod 644 "$dir/ssh/auth/"*
  local ssh_port; ssh_port="$(free_port)"
  cat >"$dir/ssh/sshd_config" <<CONF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $dir/ssh/host_ed25519
PidFile $dir/ssh/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
AuthorizedKeysFile $dir/ssh/auth/%u
Subsystem sftp internal-sftp
MaxSessions 10
MaxStartups 50:30:100
LogLevel INFO
CONF
  /usr/sbin/sshd -f "$dir/ssh/sshd_config" -E "$dir/ssh/sshd.log" || die "sshd did not start; see $dir/ssh/sshd.log"
  wait_for 10 "sshd on 127.0.0.1:$ssh_port" test -s "$dir/ssh/sshd.pid" || die "sshd did not write its pid file; see $dir/ssh/sshd.log"
  echo "[127.0.0.1]:$ssh_port $(cut -d' ' -f1,2 "$dir/ssh/host_ed25519.pub")" >"$dir/ssh/known_hosts"

  # --- munge ---------------------------------------------------------------
  chmod 711 "$dir/munge/run"
  mungekey --create --keyfile="$dir/munge/etc/munge.key" >/dev/null 2>&1 || die "mungekey failed"
  chmod 600 "$dir/munge/etc/munge.key"
  /usr/sbin/munged --force --socket="$dir/munge/run/munge.socket.2" --key-file="$dir/munge/etc/munge.key" \
    --pid-file="$dir/munge/run/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/lib/munged.seed" \
    || die "munged did not start; see $dir/munge/munged.log"
  wait_for 10 "munged" test -S "$dir/munge/run/munge.socket.2" || die "munged socket missing; see $dir/munge/munged.log"

  # --- slurm ---------------------------------------------------------------
  # Two single-node clusters: the primary one tracks processes with cgroups
  # (when this machine allows it), the second with proctrack/linuxproc, as
  # small and older sites do, so cancel tests run against both.
  local proctrack="proctrack/cgroup"
  if [ ! -w /sys/fs/cgroup/freezer ]; then proctrack="proctrack/linuxproc"; fi
  # The second one also has a small MaxArraySize, so sweeps must be split there.
  start_slurm "$dir" slurm ct-test "$proctrack" 1001
  start_slurm "$dir" slurm-linuxproc ct-test-linuxproc proctrack/linuxproc 8

  cat >"$dir/env.json" <<JSON
{
  "dir": "$dir",
  "ssh": {
    "host": "127.0.0.1",
    "port": $ssh_port,
    "knownHostsFile": "$dir/ssh/known_hosts",
    "hostPublicKeyFile": "$dir/ssh/host_ed25519.pub",
    "root": { "username": "root", "privateKeyPath": "$dir/keys/id_root", "workDir": "$dir/work/root" },
    "user": { "username": "$TEST_USER", "privateKeyPath": "$dir/keys/id_user", "passphrase": "$USER_KEY_PASSPHRASE", "workDir": "$dir/work/$TEST_USER" }
  },
  "slurm": { "conf": "$dir/slurm/slurm.conf", "proctrack": "$proctrack", "cpus": 2, "partition": "debug", "maxArraySize": 1001 },
  "slurmClusters": [
    { "conf": "$dir/slurm/slurm.conf", "proctrack": "$proctrack", "cpus": 2, "partition": "debug", "maxArraySize": 1001 },
    { "conf": "$dir/slurm-linuxproc/slurm.conf", "proctrack": "proctrack/linuxproc", "cpus": 2, "partition": "debug", "maxArraySize": 8 }
  ]
}
JSON
  echo "executors.sh: started under $dir (sshd 127.0.0.1:$ssh_port, Slurm clusters slurm ($proctrack) and slurm-linuxproc)" >&2
}

kill_pidfile() { # kill_pidfile FILE NAME
  local f="$1" pid
  [ -s "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

stop() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  dir="$(cd "$dir" && pwd)"
  local sd
  for sd in "$dir/slurm" "$dir/slurm-linuxproc"; do
    if [ -f "$sd/slurm.conf" ] && [ -s "$sd/slurmctld.pid" ]; then
      export SLURM_CONF="$sd/slurm.conf"
      # Cancel every job of this private cluster, and wait until none is left running.
      local ids
      ids="$(scontrol show job -o 2>/dev/null | grep -Eo '^JobId=[0-9]+' | cut -d= -f2 | tr '\n' ' ' || true)"
      if [ -n "${ids// }" ]; then
        # shellcheck disable=SC2086
        scancel $ids 2>/dev/null || true
        for _ in $(seq 1 150); do
          scontrol show job -o 2>/dev/null | grep -Eq 'JobState=(RUNNING|PENDING|COMPLETING|CONFIGURING|SUSPENDED)' || break
          sleep 0.1
        done
      fi
    fi
    kill_pidfile "$sd/slurmd.pid"
    kill_pidfile "$sd/slurmctld.pid"
  done
  kill_pidfile "$dir/munge/run/munged.pid"
  kill_pidfile "$dir/ssh/sshd.pid"
  # Task processes the tests left (remote runners are started with paths under DIR).
  local left
  left="$(ps -eo pid=,args= | awk -v d="$dir/" 'index($0, d) && !/awk/ {print $1}' | grep -vx "$$" || true)"
  if [ -n "$left" ]; then
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) [ -n "${2:-}" ] || die "usage: $0 start DIR"; start "$2" ;;
  stop) [ -n "${2:-}" ] || die "usage: $0 stop DIR"; stop "$2" ;;
  *) die "usage: $0 start|stop DIR" ;;
esac
