# shellcheck shell=bash
# Helpers shared by scripts/setup.sh and the image build scripts in scripts/images/.
# Source it; it defines functions and a few variables, and runs nothing.
#
# Every image built here carries the labels paas.managed=true and paas.kind=<kind>, plus
# paas.recipe=<hash of the files it was built from>. An image is rebuilt when it is missing
# or when its recipe label no longer matches (someone edited its Dockerfile), or when
# PAAS_SETUP_REBUILD_IMAGES=1. Base images carry no paas.namespace label on purpose: they are
# shared by every namespace on the engine, so per-namespace sweeps must not remove them.

PAAS_IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The legacy builder works with every engine/CLI combination we meet (Debian's docker.io
# 20.10, newer CLIs without the buildx plugin) and needs nothing from a registry.
export DOCKER_BUILDKIT=0

log() { printf 'setup: %s\n' "$*"; }
warn() { printf 'setup: WARNING: %s\n' "$*" >&2; }
die() {
  printf 'setup: ERROR: %s\n' "$*" >&2
  exit 1
}

now_ms() { date +%s%3N; }
# elapsed START_MS -> "12.3s"
elapsed() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%01ds' $((ms / 1000)) $(((ms % 1000) / 100))
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# image_label IMAGE LABEL -> value, or empty when the image or label is missing
image_label() {
  docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# recipe_hash FILE|DIR... [-- STRING...] -> short sha256 over file contents and extra strings.
# The file names as given are part of the hash: call it from inside the image's folder with
# relative names, e.g. (cd "$dir" && recipe_hash .), so every checkout gets the same value.
recipe_hash() {
  local files=() strings=()
  while (($#)); do
    if [[ $1 == -- ]]; then
      shift
      strings=("$@")
      break
    fi
    files+=("$1")
    shift
  done
  {
    find "${files[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    printf '%s\n' "${strings[@]}"
  } | sha256sum | cut -c1-16
}

# image_is_current IMAGE RECIPE -> true when IMAGE exists, was built from RECIPE, and no
# rebuild was asked for.
image_is_current() {
  [[ ${PAAS_SETUP_REBUILD_IMAGES:-0} != 1 ]] || return 1
  [[ "$(image_label "$1" paas.recipe)" == "$2" ]]
}

# docker_build TAG KIND RECIPE CONTEXT_DIR [extra docker build args...]
# Builds quietly (output goes to a log file that is printed when the build fails).
docker_build() {
  local tag=$1 kind=$2 recipe=$3 ctx=$4
  shift 4
  local out
  out="$(mktemp "${TMPDIR:-/tmp}/paas-build.XXXXXX")"
  if ! docker build --force-rm \
    --label paas.managed=true --label "paas.kind=$kind" --label "paas.recipe=$recipe" \
    -t "$tag" "$@" "$ctx" >"$out" 2>&1; then
    tail -n 40 "$out" >&2
    rm -f "$out"
    die "docker build of $tag failed (output above)"
  fi
  rm -f "$out"
}

# tag_if_free SOURCE TARGET: tag SOURCE as TARGET when TARGET does not exist, or when it is
# one of our own base images (so a rebuilt base moves the alias along). An image the user
# pulled or built themselves under TARGET is never touched.
tag_if_free() {
  local src=$1 target=$2
  if image_exists "$target"; then
    [[ "$(image_label "$target" paas.kind)" == base ]] || return 0
    [[ "$(docker image inspect --format '{{.Id}}' "$target")" != "$(docker image inspect --format '{{.Id}}' "$src")" ]] || return 0
  fi
  docker tag "$src" "$target"
  log "tagged $src as $target"
}
