#!/bin/bash
# Boots a slug the Heroku way: HOME=/app, PORT defaulted, .profile.d/*.sh and .profile
# sourced, then the process. Arguments:
#   (none)          the web process (or the first process type)
#   <type>          a process type from the Procfile / buildpack defaults
#   "<command>"     one string: run through bash (Procfile-style, $PORT expands)
#   cmd arg...      exec'd as is
export HOME=/app
cd /app || exit 1
export PORT="${PORT:-5000}"
for f in /app/.profile.d/*.sh; do
  # shellcheck disable=SC1090
  [ -r "$f" ] && . "$f"
done
# shellcheck disable=SC1091
[ -r /app/.profile ] && . /app/.profile

process_command() { # prints the command of process type $1
  local line
  while IFS= read -r line; do
    if [ "${line%%:*}" = "$1" ]; then
      line="${line#*:}"
      echo "${line# }"
      return 0
    fi
  done </etc/paas/process-types
  return 1
}

if [ $# -eq 0 ]; then
  if process_command web >/dev/null; then
    set -- web
  else
    first="$(head -n1 /etc/paas/process-types)"
    set -- "${first%%:*}"
  fi
fi
if [ $# -eq 1 ]; then
  if cmd="$(process_command "$1")"; then
    exec bash -c "$cmd"
  fi
  exec bash -c "$1"
fi
exec "$@"
