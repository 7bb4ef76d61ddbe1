#!/bin/sh
# Point apt at the operator's Debian mirror (PAAS_STACK_MIRROR). Empty: keep the base's.
set -e
mirror="$1"
[ -n "$mirror" ] || exit 0
rm -f /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" > /etc/apt/sources.list
