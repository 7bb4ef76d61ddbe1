# Shared by bin/compile: Heroku-style output and config vars from ENV_DIR.

topic() { echo "-----> $*"; }
info() { echo "       $*"; }
warn() {
  echo " !     WARNING: $*"
}

# Export the app's config vars (one file per var in ENV_DIR), except the ones that would
# break the build environment itself. Values are never printed.
export_env_dir() {
  local env_dir="$1" f name
  [ -d "$env_dir" ] || return 0
  for f in "$env_dir"/*; do
    [ -f "$f" ] || continue
    name="$(basename "$f")"
    case "$name" in
      PATH | GIT_DIR | CPATH | CPPATH | LD_PRELOAD | LIBRARY_PATH | LD_LIBRARY_PATH | HOME | BUILD_DIR | CACHE_DIR | ENV_DIR) continue ;;
    esac
    [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    export "$name=$(cat "$f")"
  done
}

# Indent a command's output under the current topic.
indent() { sed -u -e '/^[[:space:]]*$/d' -e 's/^/       /'; }
