#!/usr/bin/env bash
# Put everything the platform and its test suite need on this machine, and start it:
#   1. Debian packages (docker.io, redis-server, git, debootstrap, busybox-static, ...)
#   2. the Docker engine     3. the platform's Redis ($PAAS_REDIS_URL, with AOF)
#   4. node_modules and dist/ (npm ci when needed, npm run build)
#   5. base images (scripts/images/build-base-images.sh) and stack images
# Idempotent, and quick when everything is already in place. Run by `npm run setup` and
# by `npm test` (pretest). Needs root the first time (packages, daemons, debootstrap).
#
# Environment:
#   PAAS_REDIS_URL              platform Redis (default redis://127.0.0.1:6379)
#   PAAS_SETUP_SKIP_BUILD=1     do not run `npm run build`
#   PAAS_SETUP_REBUILD_IMAGES=1 rebuild the images even when they are present
#   PAAS_SCHEDULER=swarm        without PAAS_REGISTRY: start the platform's registry (scripts/registry.sh)
#   PAAS_STACK_MIRROR, PAAS_STACK_SECURITY_MIRROR, PAAS_CACHE_DIR: see scripts/images/build-base-images.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=images/lib.sh
source "$repo/scripts/images/lib.sh"

t_start=$(now_ms)
is_root() { [[ $(id -u) == 0 ]]; }
systemd_is_pid1() { [[ -d /run/systemd/system ]]; }
var_log() { if is_root; then echo /var/log; else echo "${TMPDIR:-/tmp}"; fi; }

# One setup at a time per machine and user: `npm test` runs this as pretest, and several
# test runs may start together. Daemons started below get fd 9 closed so they do not hold it.
lock_dir=/run/lock
[[ -d $lock_dir && -w $lock_dir ]] || lock_dir=${TMPDIR:-/tmp}
lock_file="$lock_dir/paas-setup-$(id -u).lock"
exec 9>"$lock_file"
if ! flock -n 9; then
  log "waiting for another setup to finish..."
  flock -w 3600 9 || die "gave up waiting for $lock_file"
fi
export PAAS_SETUP_LOCK_HELD=1

# --- 1. Debian packages ---------------------------------------------------------------------
install_packages() {
  # openssl and pebble (an ACME test CA): the TLS and certs:auto tests make certificates with them
  # openssh-client: the SSH git tests push with ssh and make keys with ssh-keygen
  # openscap-scanner, openscap-utils (oscap-chroot) and ssg-debian: plugins/scan checks release images
  # docker-registry: swarm mode's private registry (scripts/registry.sh; the swarm tests run one)
  # apache2-utils: htpasswd writes that registry's bcrypt password file
  local wanted=(docker.io redis-server git debootstrap busybox-static ca-certificates curl wrk
    procps iproute2 debian-archive-keyring openssl pebble openssh-client
    openscap-scanner openscap-utils ssg-debian docker-registry apache2-utils)
  # the engine needs apparmor_parser when the kernel enforces AppArmor
  if [[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" == Y ]]; then wanted+=(apparmor); fi
  # without systemd nobody mounts the cgroup hierarchy for dockerd
  if ! systemd_is_pid1 && ! grep -qE '^[^ ]+ [^ ]+ cgroup2? ' /proc/mounts; then wanted+=(cgroupfs-mount); fi

  local installed missing=() p
  installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${wanted[@]}" nginx-light nginx 2>/dev/null || true)"
  for p in "${wanted[@]}"; do
    grep -qx "$p installed" <<<"$installed" || missing+=("$p")
  done
  local need_nginx=0
  if ! grep -qxE '(nginx-light|nginx) installed' <<<"$installed"; then need_nginx=1; fi
  # caddy: like nginx, only a comparison in the router benchmark
  local need_caddy=0
  if ! dpkg-query -W -f='${db:Status-Status}\n' caddy 2>/dev/null | grep -qx installed; then need_caddy=1; fi

  if ((${#missing[@]} == 0 && need_nginx == 0 && need_caddy == 0)); then
    log "packages present"
    return
  fi
  if ! is_root; then
    die "missing Debian packages: ${missing[*]}$( ((need_nginx)) && echo ' nginx-light')$( ((need_caddy)) && echo ' caddy'); run setup as root (sudo npm run setup)"
  fi
  command -v apt-get >/dev/null || die "apt-get not found: this setup supports Debian (bookworm) only"

  export DEBIAN_FRONTEND=noninteractive
  local apt_log
  apt_log="$(var_log)/paas-setup-apt.log"
  : >"$apt_log"
  apt_update() {
    log "apt-get update..."
    apt-get update >>"$apt_log" 2>&1 || {
      tail -n 20 "$apt_log" >&2
      die "apt-get update failed (log: $apt_log)"
    }
  }
  # lists are empty on a fresh machine (and in Debian's container images)
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then apt_update; fi
  if ((need_nginx)); then
    if [[ -z "$(apt-cache policy nginx-light 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" { print $2 }')" ]]; then
      missing+=(nginx)
    else
      missing+=(nginx-light)
    fi
  fi

  if ((need_caddy)); then missing+=(caddy); fi

  # nginx and caddy are only benchmark tools here: keep the package install from starting
  # them on port 80/443, where the platform's router listens. (Only when no policy-rc.d
  # exists already.)
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if ((need_nginx || need_caddy)) && [[ ! -e $policy ]]; then
    cat >"$policy" <<'EOF'
#!/bin/sh
# temporary, written by paas scripts/setup.sh while it installs packages: do not start nginx
while [ $# -gt 0 ]; do case "$1" in --*) shift ;; *) break ;; esac; done
[ "$1" = nginx ] && exit 101
[ "$1" = caddy ] && exit 101
exit 0
EOF
    chmod 0755 "$policy"
    made_policy=1
  fi

  log "installing ${missing[*]}..."
  local apt_install=(apt-get install -y --no-install-recommends
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}")
  local ok=1
  if ! "${apt_install[@]}" >>"$apt_log" 2>&1; then
    # stale package lists: refresh and try once more
    apt_update
    "${apt_install[@]}" >>"$apt_log" 2>&1 || ok=0
  fi
  if ((made_policy)); then rm -f "$policy"; fi
  if ((!ok)); then
    tail -n 30 "$apt_log" >&2
    die "apt-get install failed (log: $apt_log)"
  fi
  if ((need_nginx)) && systemd_is_pid1; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
  if ((need_caddy)) && systemd_is_pid1; then systemctl disable --now caddy >/dev/null 2>&1 || true; fi
  # the platform's registry is started with its own config (storage in the data dir), not Debian's unit
  if systemd_is_pid1; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/docker-registry ]] && command -v update-rc.d >/dev/null; then
    /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
    update-rc.d docker-registry disable >/dev/null 2>&1 || true
  fi
  log "installed ${missing[*]}"
}

# --- 2. Docker engine -----------------------------------------------------------------------
docker_answers() { timeout 20 docker info >/dev/null 2>&1; }

start_docker() {
  command -v docker >/dev/null || die "docker not found (package docker.io)"
  if docker_answers; then
    log "docker engine up"
    return
  fi
  if [[ -S /var/run/docker.sock ]] && ! is_root && timeout 20 docker info 2>&1 | grep -qi 'permission denied'; then
    die "the Docker engine runs but $(id -un) may not use it: add the user to the docker group, or run as root"
  fi
  is_root || die "the Docker engine is not running; start it as root (run setup as root)"
  local t0 dlog=/var/log/paas-dockerd.log pid=""
  t0=$(now_ms)
  if systemd_is_pid1; then
    log "starting docker (systemctl start docker)..."
    systemctl start docker || true
    dlog=""
  else
    if ! grep -qE '^[^ ]+ [^ ]+ cgroup2? ' /proc/mounts && command -v cgroupfs-mount >/dev/null; then
      cgroupfs-mount || true
    fi
    log "starting dockerd in the background (log $dlog)..."
    setsid nohup dockerd </dev/null >>"$dlog" 2>&1 9>&- &
    pid=$!
  fi
  local deadline=$((SECONDS + 60))
  until docker_answers; do
    if ((SECONDS >= deadline)) || { [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; }; then
      if [[ -n $dlog ]]; then
        tail -n 30 "$dlog" >&2
      else
        journalctl -u docker --no-pager -n 30 >&2 2>/dev/null || true
      fi
      die "the Docker engine did not come up"
    fi
    sleep 0.5
  done
  log "docker engine up after $(elapsed "$t0")"
}

# --- 3. Redis -------------------------------------------------------------------------------
start_redis() {
  local url=${PAAS_REDIS_URL:-redis://127.0.0.1:6379}
  command -v redis-cli >/dev/null || die "redis-cli not found (package redis-server)"
  redis_ping() { [[ "$(timeout 5 redis-cli --no-auth-warning -u "$url" ping 2>/dev/null)" == PONG ]]; }
  if redis_ping; then
    log "redis up at $url"
    # e.g. the Debian package's own redis-server, which runs without AOF
    if [[ "$(timeout 5 redis-cli --no-auth-warning -u "$url" config get appendonly 2>/dev/null | tail -n 1)" == no ]]; then
      warn "the Redis at $url runs without AOF persistence (appendonly no): a restart can lose platform state"
    fi
    return
  fi
  # redis://[[user]:password@]host[:port][/db]
  [[ $url =~ ^redis://(([^:@/]*)(:([^@/]*))?@)?(\[[^]]+\]|[^:/]+)(:([0-9]+))?(/[0-9]*)?$ ]] ||
    die "PAAS_REDIS_URL=\"$url\" must look like redis://host:port[/db]"
  local password=${BASH_REMATCH[4]} host=${BASH_REMATCH[5]} port=${BASH_REMATCH[7]:-6379}
  local bind
  case $host in
  127.0.0.1) bind=(127.0.0.1) ;;
  localhost) bind=(127.0.0.1 -::1) ;;
  ::1 | "[::1]") bind=(::1) ;;
  *) die "no Redis answers at $url, and $host is not this machine: start that Redis, or point PAAS_REDIS_URL at 127.0.0.1" ;;
  esac
  command -v redis-server >/dev/null || die "redis-server not found (package redis-server)"
  local data_dir log_file
  if is_root; then
    data_dir=/var/lib/paas/redis
    log_file=/var/log/paas-redis.log
  else
    data_dir=$HOME/.paas/redis
    log_file=$data_dir/redis.log
  fi
  [[ $port == 6379 ]] || { data_dir=$data_dir-$port && log_file=${log_file%.log}-$port.log; }
  mkdir -p "$data_dir"
  chmod 0700 "$data_dir"
  local args=(--port "$port" --bind "${bind[@]}" --appendonly yes --dir "$data_dir"
    --daemonize yes --logfile "$log_file" --pidfile "$data_dir/redis.pid")
  [[ -z $password ]] || args+=(--requirepass "$password")
  log "starting redis-server on port $port with AOF (data $data_dir, log $log_file)..."
  local t0
  t0=$(now_ms)
  redis-server "${args[@]}" 9>&- >/dev/null || {
    tail -n 20 "$log_file" >&2 2>/dev/null || true
    die "redis-server did not start"
  }
  local deadline=$((SECONDS + 30))
  until redis_ping; do
    if ((SECONDS >= deadline)); then
      tail -n 20 "$log_file" >&2 2>/dev/null || true
      die "redis-server started but does not answer PONG at $url"
    fi
    sleep 0.2
  done
  log "redis up at $url after $(elapsed "$t0")"
}

# --- 3b. Swarm mode's registry ----------------------------------------------------------------
# PAAS_SCHEDULER=swarm without PAAS_REGISTRY: the platform pushes to setup's own registry
# (storage in the data dir, PAAS_REGISTRY_LISTEN, htpasswd auth and TLS when configured).
start_registry() {
  [[ ${PAAS_SCHEDULER:-docker} == swarm && -z ${PAAS_REGISTRY:-} ]] || return 0
  bash "$repo/scripts/registry.sh" start
}

# --- 4. Node dependencies and build ---------------------------------------------------------
node_deps() {
  command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (Node >= 20)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || die "Node >= 20 is needed, found $(node --version)"
  local stamp=node_modules/.paas-setup-stamp
  if [[ ! -d node_modules || package-lock.json -nt $stamp ]]; then
    if [[ -d node_modules && ! -e $stamp && node_modules/.package-lock.json -nt package-lock.json ]]; then
      # installed by hand after the lockfile last changed: npm's own record says it is current
      touch "$stamp"
      log "node_modules up to date"
    else
      local t0
      t0=$(now_ms)
      log "npm ci..."
      local npm_log
      npm_log="$(mktemp "${TMPDIR:-/tmp}/paas-npm-ci.XXXXXX")"
      if npm ci --no-audit --no-fund --loglevel=error >"$npm_log" 2>&1 9>&-; then
        log "npm ci took $(elapsed "$t0")"
      else
        # npm ci refuses a lockfile without the optional per-platform packages (esbuild,
        # biome, ...), which is what a registry mirror that serves only this platform yields.
        # npm install accepts it and installs the same versions.
        grep -m 3 -E 'npm (error|ERR!)' "$npm_log" | grep -v -E 'npm (error|ERR!) *$' | sed 's/^/setup:   /' >&2 || true
        warn "npm ci failed (above); falling back to npm install"
        t0=$(now_ms)
        npm install --no-audit --no-fund --loglevel=error 9>&- || die "npm install failed"
        log "npm install took $(elapsed "$t0")"
      fi
      rm -f "$npm_log"
      touch "$stamp"
    fi
  else
    log "node_modules up to date"
  fi
  if [[ ${PAAS_SETUP_SKIP_BUILD:-0} == 1 ]]; then
    log "skipping npm run build (PAAS_SETUP_SKIP_BUILD=1)"
    return
  fi
  local t0
  t0=$(now_ms)
  npm run --silent build 9>&- || die "npm run build failed"
  log "built dist/ in $(elapsed "$t0")"
}

# --- 5. Images ------------------------------------------------------------------------------
build_base_images() {
  bash "$repo/scripts/images/build-base-images.sh"
}

# EXTENSION POINT: stack images.
# Build paas/stack-build and paas/stack-run here, FROM paas/debian:bookworm (built just
# before this runs). Use the helpers of scripts/images/lib.sh: recipe_hash, image_is_current
# (build only when missing or when the recipe changed) and docker_build TAG KIND RECIPE CTX
# (labels the image paas.managed=true, paas.kind=KIND, paas.recipe=RECIPE). Keep it quick
# when the images are already there.
build_stack_images() {
  # paas/stack-{build,run}:<VERSION> (+ :latest), rebuilt when missing, when the files in
  # scripts/images/stack or the base image change. The recipe hashes paths relative to the
  # stack folder so src/builder/stack.ts computes the same value when it builds the stack.
  local stack_dir="$repo/scripts/images/stack" base=paas/debian:bookworm
  local version base_id recipe flavour tag t0 versions k v
  version="$(tr -d '[:space:]' <"$stack_dir/VERSION")"
  base_id="$(docker image inspect --format '{{.Id}}' "$base")" || die "$base is missing"
  recipe="$(cd "$stack_dir" && recipe_hash . -- "base=$base_id")"
  local proxy_args=() name value
  for name in http_proxy https_proxy no_proxy; do
    value="$(printenv "PAAS_BUILD_${name^^}" || printenv "${name^^}" || printenv "$name" || true)"
    [[ -z $value ]] || proxy_args+=(--build-arg "$name=$value")
  done
  for flavour in build run; do
    tag="paas/stack-$flavour:$version"
    if image_is_current "$tag" "$recipe"; then
      log "$tag present"
      continue
    fi
    t0=$(now_ms)
    log "building $tag from Debian packages (a few minutes)..."
    docker_build "$tag" stack "$recipe" "$stack_dir" -f "$stack_dir/Dockerfile.$flavour" \
      --build-arg "BASE=$base" --build-arg "MIRROR=${PAAS_STACK_MIRROR:-http://deb.debian.org/debian}" \
      --build-arg "STACK_VERSION=$version" "${proxy_args[@]}" \
      --label "paas.stack.flavour=$flavour" --label "paas.stack.version=$version"
    # What got installed, as labels (`paas stack` shows them): a metadata-only rebuild.
    versions="$(docker run --rm --network none --label paas.managed=true --label paas.kind=stack \
      "$tag" /usr/local/bin/paas-stack-versions)" || die "version probe of $tag failed"
    local labels=()
    while IFS='=' read -r k v; do
      [[ -n $k && -n $v ]] && labels+=(--label "paas.stack.$k=$v")
    done <<<"$versions"
    printf 'FROM %s\n' "$tag" | docker build -q "${labels[@]}" -t "$tag" - >/dev/null 2>&1 ||
      die "labelling $tag failed"
    docker tag "$tag" "paas/stack-$flavour:latest"
    log "built $tag in $(elapsed "$t0"): $(tr '\n' ' ' <<<"$versions")"
  done
}

# The add-on service images paas/postgres:15 and paas/redis:7 (plugins/postgres, plugins/redis),
# FROM paas/debian:bookworm with Debian's packages; rebuilt when missing or when the files in
# scripts/images/<service> or the base image change. The installed version becomes the label
# paas.service.version (`paas addons:info` shows it).
build_service_images() {
  local base=paas/debian:bookworm base_id spec service tag dir recipe t0 versions k v
  base_id="$(docker image inspect --format '{{.Id}}' "$base")" || die "$base is missing"
  for spec in postgres:15 redis:7; do
    service=${spec%%:*}
    tag="paas/$spec"
    dir="$repo/scripts/images/$service"
    recipe="$(cd "$dir" && recipe_hash . -- "base=$base_id")"
    if image_is_current "$tag" "$recipe"; then
      log "$tag present"
      continue
    fi
    t0=$(now_ms)
    log "building $tag from Debian packages..."
    docker_build "$tag" service "$recipe" "$dir" --build-arg "BASE=$base" \
      --build-arg "MIRROR=${PAAS_STACK_MIRROR:-http://deb.debian.org/debian}" --label "paas.service=$service"
    versions="$(docker run --rm --network none --label paas.managed=true --label paas.kind=service \
      --entrypoint /usr/local/bin/paas-service-versions "$tag")" || die "version probe of $tag failed"
    local labels=()
    while IFS='=' read -r k v; do
      [[ -n $k && -n $v ]] && labels+=(--label "paas.service.$k=$v")
    done <<<"$versions"
    printf 'FROM %s\n' "$tag" | docker build -q "${labels[@]}" -t "$tag" - >/dev/null 2>&1 ||
      die "labelling $tag failed"
    log "built $tag in $(elapsed "$t0"): $(tr '\n' ' ' <<<"$versions")"
  done
}

# The swarm tests' node image paas-test/swarm-node:<recipe> (Debian's docker.io FROM the base
# image, test/fixtures/swarm-node), built here while the machine has its Debian mirror; quick
# when present.
build_test_images() {
  local tag
  tag="$(bash "$repo/test/fixtures/swarm-node/build.sh")" || die "building the swarm test node image failed"
  log "$tag present"
}

# --- 6. The `paas` command on PATH ------------------------------------------------------------
# As root, /usr/local/bin/paas points at this checkout (never replacing a paas that is not ours).
link_cli() {
  local target="$repo/bin/paas" link=/usr/local/bin/paas
  is_root || return 0
  if [[ -L $link && $(readlink "$link") == "$target" ]]; then return; fi
  if [[ -e $link && ! -L $link ]]; then
    log "not linking $link: a different paas is installed there"
    return
  fi
  ln -sfn "$target" "$link"
  log "linked $link -> $target"
}

install_packages
start_docker
start_redis
start_registry
node_deps
build_base_images
build_stack_images
build_service_images
build_test_images
link_cli

log "done in $(elapsed "$t_start")"
