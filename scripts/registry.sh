#!/usr/bin/env bash
# Swarm mode's private registry (Debian's docker-registry), run by the platform's host:
# its config, storage, htpasswd, pidfile and log live in $PAAS_DATA_DIR/registry.
#
#   scripts/registry.sh [start|stop|status]
#
# start (the default) writes config.yml and runs `docker-registry serve` in the background.
# Idempotent: quick when it already runs with the same config; restarts it when the config,
# the credentials or the TLS files changed. scripts/setup.sh calls it when
# PAAS_SCHEDULER=swarm and PAAS_REGISTRY is unset; run it yourself after a reboot or to apply
# new settings. It does not use Debian's docker-registry systemd unit (Debian's config and
# storage), which setup disables when it installs the package.
#
# Environment:
#   PAAS_DATA_DIR            data dir (default /var/lib/paas as root, else ~/.paas)
#   PAAS_REGISTRY_LISTEN     address to listen on (default 127.0.0.1:5000); every node must reach it
#   PAAS_REGISTRY_USERNAME, PAAS_REGISTRY_PASSWORD
#                            htpasswd (bcrypt) auth with this one user; the password is never printed
#   PAAS_REGISTRY_TLS_CERT, PAAS_REGISTRY_TLS_KEY
#                            serve HTTPS with this PEM certificate and key
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=images/lib.sh
source "$repo/scripts/images/lib.sh"

if [[ $(id -u) == 0 ]]; then default_data=/var/lib/paas; else default_data=$HOME/.paas; fi
data_dir=${PAAS_DATA_DIR:-$default_data}
dir=$data_dir/registry
config=$dir/config.yml
htpasswd_file=$dir/htpasswd
pidfile=$dir/registry.pid
logfile=$dir/registry.log
listen=${PAAS_REGISTRY_LISTEN:-127.0.0.1:5000}
user=${PAAS_REGISTRY_USERNAME:-}
password=${PAAS_REGISTRY_PASSWORD:-}
cert=${PAAS_REGISTRY_TLS_CERT:-}
key=${PAAS_REGISTRY_TLS_KEY:-}

[[ $listen =~ ^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):([0-9]{1,5})$ ]] ||
  die "PAAS_REGISTRY_LISTEN=\"$listen\" must be host:port (e.g. 127.0.0.1:5000)"
listen_host=${BASH_REMATCH[1]} listen_port=${BASH_REMATCH[2]}
# Where this host reaches it (listening on every address: loopback).
case $listen_host in
"" | 0.0.0.0) probe_host=127.0.0.1 ;;
"[::]") probe_host="[::1]" ;;
*) probe_host=$listen_host ;;
esac
scheme=http
[[ -z $cert ]] || scheme=https
url="$scheme://$probe_host:$listen_port"

# The pid of the registry this script started with this config, or nothing.
our_pid() {
  local pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  if [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)" == "docker-registry serve $config " ]]; then
    echo "$pid"
  fi
}

# Whether a registry answers /v2/ at the address (200, or 401 when it wants auth).
answers() {
  local code
  code="$(curl -sk --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 3 "$url/v2/" 2>/dev/null || true)"
  [[ $code == 200 || $code == 401 ]]
}

# Whether the process runs (a zombie does not: PID 1 of a container may never reap it).
running() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

stop_registry() {
  local pid i
  pid="$(our_pid)"
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    running "$pid" || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# The config.yml this environment asks for (the TLS files' hash in a comment, so a renewed
# certificate restarts the registry too).
render_config() {
  local q='"'
  printf '%s\n' \
    "# Written by paas scripts/registry.sh from PAAS_* settings: edits are overwritten." \
    "version: 0.1" \
    "log:" \
    "  fields:" \
    "    service: registry" \
    "storage:" \
    "  filesystem:" \
    "    rootdirectory: $q$dir/data$q" \
    "  delete:" \
    "    enabled: true" \
    "http:" \
    "  addr: $q$listen$q" \
    "  headers:" \
    "    X-Content-Type-Options: [nosniff]"
  if [[ -n $cert ]]; then
    printf '%s\n' \
      "  tls:" \
      "    certificate: $q$cert$q" \
      "    key: $q$key$q" \
      "# tls files: $(cat "$cert" "$key" | sha256sum | cut -c1-16)"
  fi
  if [[ -n $user ]]; then
    printf '%s\n' \
      "auth:" \
      "  htpasswd:" \
      "    realm: paas-registry" \
      "    path: $q$htpasswd_file$q"
  fi
}

start_registry() {
  command -v docker-registry >/dev/null || die "docker-registry not found (Debian package docker-registry; run npm run setup)"
  command -v curl >/dev/null || die "curl not found"
  if [[ -n $user || -n $password ]]; then
    [[ -n $user && -n $password ]] || die "PAAS_REGISTRY_USERNAME and PAAS_REGISTRY_PASSWORD go together: set both or neither"
    [[ $user =~ ^[A-Za-z0-9._@-]{1,64}$ ]] || die "PAAS_REGISTRY_USERNAME=\"$user\" must be 1-64 letters, digits and . _ @ -"
    command -v htpasswd >/dev/null || die "htpasswd not found (Debian package apache2-utils; run npm run setup)"
  fi
  if [[ -n $cert || -n $key ]]; then
    [[ -n $cert && -n $key ]] || die "PAAS_REGISTRY_TLS_CERT and PAAS_REGISTRY_TLS_KEY go together: set both or neither"
    [[ -r $cert ]] || die "PAAS_REGISTRY_TLS_CERT=\"$cert\" is not a readable file"
    [[ -r $key ]] || die "PAAS_REGISTRY_TLS_KEY=\"$key\" is not a readable file"
    cert="$(realpath "$cert")" key="$(realpath "$key")"
  fi
  # A new data dir is private, as the platform makes it.
  [[ -d $data_dir ]] || (umask 077 && mkdir -p "$data_dir")
  mkdir -p "$dir/data"
  chmod 0700 "$dir"
  local changed=0
  if [[ -n $user ]]; then
    # One user, bcrypt (docker-registry accepts nothing else); the password goes through
    # stdin, never the command line. Rewritten only when it no longer matches.
    if ! { [[ -f $htpasswd_file && $(wc -l <"$htpasswd_file") == 1 ]] &&
      printf '%s\n' "$password" | htpasswd -iv "$htpasswd_file" "$user" >/dev/null 2>&1; }; then
      local tmp="$htpasswd_file.tmp"
      (umask 077 && printf '%s\n' "$password" | htpasswd -iBc -C 10 "$tmp" "$user" >/dev/null 2>&1) ||
        die "htpasswd could not write $tmp"
      mv "$tmp" "$htpasswd_file"
      changed=1
    fi
  else
    rm -f "$htpasswd_file"
  fi
  local want
  want="$(render_config)"
  if [[ ! -f $config || "$(cat "$config")" != "$want" ]]; then
    printf '%s\n' "$want" >"$config.tmp"
    mv "$config.tmp" "$config"
    changed=1
  fi

  local pid
  pid="$(our_pid)"
  if [[ -n $pid ]] && ((changed == 0)) && answers; then
    log "registry up at $url (pid $pid, storage $dir/data)"
    return
  fi
  if [[ -n $pid ]]; then
    log "restarting the registry (its settings changed)"
    stop_registry
  fi
  if answers; then
    local hint=""
    if [[ -d /run/systemd/system ]] && systemctl is-active --quiet docker-registry 2>/dev/null; then
      hint=" (Debian's docker-registry unit runs: systemctl disable --now docker-registry)"
    elif [[ -s /var/run/docker-registry.pid ]] && kill -0 "$(cat /var/run/docker-registry.pid)" 2>/dev/null; then
      hint=" (Debian's docker-registry service runs: /etc/init.d/docker-registry stop; update-rc.d docker-registry disable)"
    fi
    die "another registry already answers at $url$hint: stop it or set PAAS_REGISTRY_LISTEN"
  fi
  local t0
  t0=$(now_ms)
  log "starting docker-registry at $url (config $config, log $logfile)..."
  # fd 9: setup's lock, not held by the daemon.
  setsid nohup docker-registry serve "$config" </dev/null >>"$logfile" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((SECONDS + 30))
  until answers; do
    if ((SECONDS >= deadline)) || ! running "$pid"; then
      tail -n 20 "$logfile" >&2 || true
      stop_registry
      die "docker-registry did not come up at $url (log $logfile)"
    fi
    sleep 0.2
  done
  log "registry up at $url after $(elapsed "$t0") (pid $pid, storage $dir/data)"
}

case ${1:-start} in
start) start_registry ;;
stop)
  stop_registry
  log "registry stopped"
  ;;
status)
  pid="$(our_pid)"
  if [[ -n $pid ]] && answers; then
    log "registry up at $url (pid $pid)"
  else
    log "registry not running at $url"
    exit 1
  fi
  ;;
*) die "usage: scripts/registry.sh [start|stop|status]" ;;
esac
