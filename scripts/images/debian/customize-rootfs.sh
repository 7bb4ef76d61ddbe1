#!/usr/bin/env bash
# Turn a fresh `debootstrap --variant=minbase` tree into a container root filesystem,
# the way Debian's official images do (debuerreotype): apt sources for the mirror, apt and
# dpkg settings for containers, no services started by package installs, no caches, and
# nothing of the build host left behind (resolv.conf, hostname). Runs on the host against
# the directory; no chroot.
#
# usage: customize-rootfs.sh ROOTFS SUITE MIRROR SECURITY_MIRROR
#   SECURITY_MIRROR may be "none" to leave the security suite out.
set -euo pipefail

root=$1 suite=$2 mirror=$3 security=$4
[[ -x "$root/usr/bin/apt-get" ]] || {
  echo "customize-rootfs: $root does not look like a debootstrapped tree" >&2
  exit 1
}

# apt sources (deb822, like the official bookworm images)
rm -f "$root/etc/apt/sources.list"
{
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$suite" "$suite"
  if [[ $security != none ]]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$security" "$suite"
  fi
} >"$root/etc/apt/sources.list.d/debian.sources"

# apt in containers: drop downloaded .debs after installing, no translations, gzip'd lists
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
cat >"$root/etc/apt/apt.conf.d/docker-no-languages" <<'EOF'
Acquire::Languages "none";
EOF
cat >"$root/etc/apt/apt.conf.d/docker-gzip-indexes" <<'EOF'
Acquire::GzipIndexes "true";
EOF
cat >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests" <<'EOF'
Apt::AutoRemove::SuggestsImportant "false";
EOF

# dpkg: skip docs, man pages and translations (like debian:*-slim)
mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
# and drop what debootstrap already installed there
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/usr/share/groff/"* "$root/usr/share/lintian/"*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true

# package installs in a container must not try to start services
cat >"$root/usr/sbin/policy-rc.d" <<'EOF'
#!/bin/sh
# installed by paas: containers run no init, so package installs never start services
exit 101
EOF
chmod 0755 "$root/usr/sbin/policy-rc.d"

# nothing from the build host or the bootstrap run
: >"$root/etc/resolv.conf"
rm -f "$root/etc/hostname"
if [[ -e "$root/etc/machine-id" ]]; then : >"$root/etc/machine-id"; fi
find "$root/var/lib/apt/lists" -mindepth 1 -maxdepth 1 -type f -delete
rm -rf "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
  "$root/var/cache/apt/archives/partial/"* "$root/var/cache/debconf/"*-old "$root/var/lib/dpkg/"*-old \
  "$root/tmp/"* "$root/var/tmp/"* "$root/root/.bash_history" "$root/debootstrap"
find "$root/var/log" -type f -exec truncate -s 0 {} +
chmod 1777 "$root/tmp" "$root/var/tmp"
