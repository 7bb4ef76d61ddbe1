#!/usr/bin/env bash
# Runs inside the build container (build stack, uid 1000, no Docker socket): fetches git
# buildpacks, runs bin/detect, bin/compile and bin/release of each chosen buildpack in
# order (Heroku buildpack API v2), sourcing each one's `export` file before the next.
#
#   compile.sh auto|all SPEC...     SPEC = bundled:<name> | git:<url>[#ref]
#
# auto: the first SPEC whose bin/detect passes is used (auto-detection over the bundled
# buildpacks). all: every SPEC is used, in order (BUILDPACK_URL, .buildpacks, app setting).
# Results go to $OUT_DIR: buildpacks (one "name<TAB>spec" per line), release-N.yml.
# Exit codes: 0 ok, 10 nothing detected, 11 buildpack not compatible, 12 fetch failed,
# anything else: the buildpack's own failure.
set -o pipefail
mode="$1"
shift
BUILD_DIR="${BUILD_DIR:-/app}"
CACHE_DIR="${CACHE_DIR:-/cache}"
ENV_DIR="${ENV_DIR:-/paas/env}"
OUT_DIR="${OUT_DIR:-/paas/out}"
BUNDLED_DIR="${BUNDLED_DIR:-/paas/buildpacks}"
WORK="$(mktemp -d /tmp/buildpacks.XXXXXX)"
export STACK="${STACK:-paas-stack}"
: >"$OUT_DIR/buildpacks"

run_bp() { # run_bp <dir> <script> args... — bin scripts need not be executable in git
  local dir="$1" script="$2"
  shift 2
  if [ -x "$dir/bin/$script" ]; then "$dir/bin/$script" "$@"; else bash "$dir/bin/$script" "$@"; fi
}

fetch() { # fetch <index> <spec> -> prints the buildpack's directory
  local i="$1" spec="$2" dir="$WORK/$1"
  case "$spec" in
    bundled:*)
      cp -r "$BUNDLED_DIR/${spec#bundled:}" "$dir" || return 1
      ;;
    git:*)
      local url="${spec#git:}" ref=""
      if [[ "$url" == *"#"* ]]; then
        ref="${url##*#}"
        url="${url%#*}"
      fi
      echo "-----> Fetching buildpack $url${ref:+ (ref $ref)}" >&2
      # A file:// repository mounted from the host belongs to another uid; git only accepts
      # safe.directory from global config, and HOME is a throwaway /tmp here.
      git config --global safe.directory '*' >&2
      git clone --quiet -- "$url" "$dir" >&2 || return 1
      if [ -n "$ref" ]; then
        git -C "$dir" checkout --quiet "$ref" -- >&2 2>/dev/null || git -C "$dir" checkout --quiet "$ref" >&2 || return 1
      fi
      ;;
    *) return 1 ;;
  esac
  if [ ! -f "$dir/bin/compile" ]; then
    echo " !     $spec has no bin/compile: not a buildpack" >&2
    return 1
  fi
  echo "$dir"
}

dirs=()
specs=()
names=()
i=0
for spec in "$@"; do
  i=$((i + 1))
  if ! dir="$(fetch "$i" "$spec")"; then
    echo " !     Could not fetch buildpack ${spec#*:}"
    exit 12
  fi
  if name="$(cd "$BUILD_DIR" && run_bp "$dir" detect "$BUILD_DIR" 2>/dev/null)"; then
    name="$(echo "$name" | head -n1)"
    if [ "$mode" = auto ]; then
      dirs=("$dir")
      specs=("$spec")
      names=("${name:-${spec#*:}}")
      break
    fi
  elif [ "$mode" = all ]; then
    echo " !     App not compatible with buildpack: ${spec#*:}"
    echo " !     Its bin/detect found nothing it can build in this app."
    exit 11
  else
    continue
  fi
  dirs+=("$dir")
  specs+=("$spec")
  names+=("${name:-${spec#*:}}")
done

if [ "${#dirs[@]}" -eq 0 ]; then
  exit 10
fi

n=${#dirs[@]}
for ((k = 0; k < n; k++)); do
  dir="${dirs[$k]}"
  if [ "$n" -gt 1 ]; then
    echo "-----> Buildpack $((k + 1))/$n: ${names[$k]}"
  else
    echo "-----> ${names[$k]} app detected"
  fi
  (cd "$BUILD_DIR" && run_bp "$dir" compile "$BUILD_DIR" "$CACHE_DIR" "$ENV_DIR") || {
    code=$?
    echo " !     Build failed: ${names[$k]} bin/compile exited with $code"
    exit "$code"
  }
  if [ -f "$dir/bin/release" ]; then
    (cd "$BUILD_DIR" && run_bp "$dir" release "$BUILD_DIR") >"$OUT_DIR/release-$k.yml" || {
      echo " !     ${names[$k]} bin/release failed"
      exit 13
    }
  fi
  printf '%s\t%s\n' "${names[$k]}" "${specs[$k]}" >>"$OUT_DIR/buildpacks"
  if [ -f "$dir/export" ]; then
    # shellcheck disable=SC1091
    . "$dir/export"
  fi
done
exit 0
