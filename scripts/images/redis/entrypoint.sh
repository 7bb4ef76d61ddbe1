#!/bin/sh
# Start redis for the add-on: AOF persistence in /data, password from REDIS_PASSWORD.
# With arguments other than options, run them instead (redis-cli...).
set -eu
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then exec "$@"; fi
: "${REDIS_PASSWORD:?REDIS_PASSWORD is needed}"
mkdir -p /data /run/paas-redis
chown redis:redis /data /run/paas-redis
conf=/run/paas-redis/redis.conf
umask 077
cat >"$conf" <<CONF
bind * -::*
protected-mode no
port 6379
dir /data
appendonly yes
requirepass $REDIS_PASSWORD
CONF
chown redis "$conf"
exec setpriv --reuid=redis --regid=redis --init-groups redis-server "$conf" "$@"
