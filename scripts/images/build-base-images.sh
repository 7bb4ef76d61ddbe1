#!/usr/bin/env bash
# Build the platform's base images on the local engine, without any registry:
#   paas/busybox:latest   FROM scratch + the host's busybox-static (fast test fixtures)
#   paas/debian:bookworm  debootstrap --variant=minbase, also tagged debian:bookworm and
#                         debian:bookworm-slim when those tags are free
# Each is built only when missing or when its recipe (the files in its folder here, plus
# the mirror settings) changed; PAAS_SETUP_REBUILD_IMAGES=1 forces a rebuild. Called by
# scripts/setup.sh; can be run on its own (as root: debootstrap needs it).
#
# Environment:
#   PAAS_STACK_MIRROR           Debian mirror (default http://deb.debian.org/debian)
#   PAAS_STACK_SECURITY_MIRROR  security mirror, or "none" (default http://deb.debian.org/debian-security)
#   PAAS_CACHE_DIR              where the debootstrap .debs and rootfs tarball are kept
#                               (default /var/cache/paas as root, ~/.cache/paas otherwise)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
here=$PAAS_IMAGES_DIR

if [[ $(id -u) == 0 ]]; then
  cache_dir=${PAAS_CACHE_DIR:-/var/cache/paas}
else
  cache_dir=${PAAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/paas}
fi

# One image build at a time on this machine (setup.sh already holds the lock when it calls us).
if [[ ${PAAS_SETUP_LOCK_HELD:-0} != 1 ]]; then
  lock_dir=/run/lock
  [[ -w $lock_dir ]] || lock_dir=${TMPDIR:-/tmp}
  exec 8>"$lock_dir/paas-setup-$(id -u).lock"
  if ! flock -n 8; then
    log "waiting for another setup/image build to finish..."
    flock -w 3600 8 || die "gave up waiting for the lock $lock_dir/paas-setup-$(id -u).lock"
  fi
fi

timeout 20 docker info >/dev/null 2>&1 || die "the Docker engine does not answer (run scripts/setup.sh)"

work_dirs=()
cleanup() {
  local d m
  for d in "${work_dirs[@]}"; do
    [[ -d $d ]] || continue
    # never recurse into something still mounted inside a bootstrap tree (proc, dev, ...)
    for m in $(awk -v p="$d/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do
      umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$d" 2>/dev/null || true
  done
}
trap cleanup EXIT

# new_work_dir: make a scratch directory, removed on exit, and put its path in $work_dir
# (not printed: a command substitution would register it in a subshell only)
new_work_dir() {
  mkdir -p "$cache_dir"
  work_dir="$(mktemp -d "$cache_dir/work.XXXXXX")"
  work_dirs+=("$work_dir")
}

# --- paas/busybox:latest ------------------------------------------------------------------
build_busybox() {
  local tag=paas/busybox:latest src=/bin/busybox
  [[ -x $src ]] || die "$src is missing: install the busybox-static package"
  local recipe
  recipe="$(cd "$here/busybox" && recipe_hash . -- "busybox=$(sha256sum <"$src")")"
  if image_is_current "$tag" "$recipe"; then
    log "$tag present"
    return
  fi
  local t0 ctx
  t0=$(now_ms)
  log "building $tag..."
  new_work_dir
  ctx=$work_dir
  cp "$here/busybox/Dockerfile" "$here/busybox/passwd" "$here/busybox/group" "$ctx/"
  cp "$src" "$ctx/busybox"
  docker_build "$tag" base "$recipe" "$ctx"
  # the fixtures need httpd and wget
  docker run --rm "$tag" httpd --help 2>&1 | grep -q 'Usage: httpd' ||
    die "$tag has no working httpd applet"
  docker run --rm "$tag" sh -c 'busybox wget --help 2>&1 | grep -q "Usage: wget" && command -v wget >/dev/null' ||
    die "$tag has no working wget applet"
  log "built $tag in $(elapsed "$t0")"
}

# --- paas/debian:bookworm -----------------------------------------------------------------
suite=bookworm
variant=minbase
mirror=${PAAS_STACK_MIRROR:-http://deb.debian.org/debian}
security_mirror=${PAAS_STACK_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# make_rootfs_tarball OUT: debootstrap a $suite tree, customize it, tar it to OUT
make_rootfs_tarball() {
  local out=$1
  [[ $(id -u) == 0 ]] || die "building the Debian base image needs root (debootstrap); run setup as root"
  command -v debootstrap >/dev/null || die "debootstrap is missing: install the debootstrap package"
  local work arch t0
  new_work_dir
  work=$work_dir
  arch="$(dpkg --print-architecture)"
  mkdir -p "$cache_dir/debootstrap-debs"
  log "debootstrap --variant=$variant $suite from $mirror (takes a few minutes the first time)..."
  t0=$(now_ms)
  if ! debootstrap --variant="$variant" --arch="$arch" --cache-dir="$cache_dir/debootstrap-debs" \
    "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    [[ -f $work/rootfs/debootstrap/debootstrap.log ]] && tail -n 30 "$work/rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (output above)"
  fi
  log "debootstrap took $(elapsed "$t0")"
  bash "$here/debian/customize-rootfs.sh" "$work/rootfs" "$suite" "$mirror" "$security_mirror"
  # /dev, /proc and /sys are provided by the engine at run time
  tar --numeric-owner -C "$work/rootfs" -cf "$out.tmp" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' .
  mv -f "$out.tmp" "$out"
  # tarballs of older recipes are dead weight
  find "$cache_dir" -maxdepth 1 -name "rootfs-debian-$suite-$variant-*.tar" ! -path "$out" -delete
  log "cached root filesystem $out ($(du -h "$out" | cut -f1))"
}

build_debian() {
  local tag=paas/debian:bookworm
  local rootfs_recipe recipe
  rootfs_recipe="$(cd "$here/debian" && recipe_hash customize-rootfs.sh -- "suite=$suite" "variant=$variant" \
    "mirror=$mirror" "security=$security_mirror" "arch=$(dpkg --print-architecture)")"
  recipe="$(cd "$here/debian" && recipe_hash Dockerfile -- "rootfs=$rootfs_recipe")"
  if image_is_current "$tag" "$recipe"; then
    log "$tag present"
  else
    local t0 tarball ctx
    t0=$(now_ms)
    log "building $tag..."
    tarball="$cache_dir/rootfs-debian-$suite-$variant-$rootfs_recipe.tar"
    if [[ -s $tarball && ${PAAS_SETUP_REBUILD_IMAGES:-0} != 1 ]]; then
      log "using cached root filesystem $tarball"
    else
      make_rootfs_tarball "$tarball"
    fi
    new_work_dir
    ctx=$work_dir
    cp "$here/debian/Dockerfile" "$ctx/"
    ln "$tarball" "$ctx/rootfs.tar" 2>/dev/null || cp "$tarball" "$ctx/rootfs.tar"
    docker_build "$tag" base "$recipe" "$ctx"
    docker run --rm "$tag" bash -c 'apt-get --version >/dev/null && test -s /etc/apt/sources.list.d/debian.sources' ||
      die "$tag does not run bash/apt-get"
    log "built $tag in $(elapsed "$t0")"
  fi
  tag_if_free "$tag" debian:bookworm
  tag_if_free "$tag" debian:bookworm-slim
}

build_busybox
build_debian
