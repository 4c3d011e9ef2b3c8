#!/usr/bin/env bash
# Stand-ins for the three public base images docker-compose.yml and the Dockerfiles name (python:3.11-slim,
# pgvector/pgvector:pg17, redis:7-alpine), built from Debian packages for machines that reach a Debian mirror but
# no image registry. Tagged with the public names, so the unchanged compose file and Dockerfiles use them; where a
# registry is reachable, do not run this: the real images are pulled instead (docs/deployment.md).
#
#   sudo tools/container_base.sh        # idempotent; run as root
#
# 1. Host set-up: podman, runc and debootstrap from apt when missing (podman-compose is pinned in
#    requirements/dev.txt), and /etc/containers/containers.conf with runc as the runtime (crun fails on hybrid
#    cgroups) and no default ulimits (containers may not raise RLIMIT_NOFILE/NPROC on such hosts).
# 2. Debian bookworm and trixie root filesystems (debootstrap --variant=minbase) with the host's extra CA
#    certificates (/usr/local/share/ca-certificates: HTTPS through a proxy that re-signs) and, for the host's own
#    release, its apt sources, imported as localhost/sticker-search-base/debian:<suite>; the tarballs are cached in
#    $CONTAINER_BASE_CACHE (default /var/cache/sticker-search).
# 3. The three stand-ins from tools/container_base/*.Containerfile on them. An image already tagged with a public name
#    is rebuilt only when it is a stand-in of other sources (label sticker-search.base); a real image is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
HERE=tools/container_base
CACHE=${CONTAINER_BASE_CACHE:-/var/cache/sticker-search}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
LABEL=sticker-search.base
# Public name -> Containerfile.
declare -A STAND_INS=(
  [docker.io/library/python:3.11-slim]=python
  [docker.io/pgvector/pgvector:pg17]=postgres
  [docker.io/library/redis:7-alpine]=redis
)

if [ "$(id -u)" != 0 ]; then echo "run as root (apt-get, debootstrap, podman storage)" >&2; exit 1; fi

# --- 1. host ---
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "=== apt-get install ${missing[*]} ==="
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
CONF=/etc/containers/containers.conf
if [ ! -e "$CONF" ]; then
  mkdir -p /etc/containers
  printf '# Written by tools/container_base.sh (sticker-search): runc, no default ulimits.\n[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' > "$CONF"
  echo "wrote $CONF"
elif ! grep -q '^default_ulimits = \[\]' "$CONF" || ! grep -q '^runtime = "runc"' "$CONF"; then
  echo "$CONF exists without default_ulimits = [] and runtime = \"runc\" (sticker-search needs both); edit it" >&2
  exit 1
fi

# --- 2. Debian root filesystems ---
mkdir -p "$CACHE"
declare -A ROOTFS_ID
base_image() {  # SUITE: debootstrap it (cached tarball), import it as localhost/sticker-search-base/debian:SUITE
  local suite=$1 tar=$CACHE/debian-$1-minbase.tar dir
  if [ ! -s "$tar" ]; then
    echo "=== debootstrap $suite from $MIRROR ==="
    dir=$(mktemp -d)
    debootstrap --variant=minbase --include=ca-certificates "$suite" "$dir" "$MIRROR"
    if grep -q "^VERSION_CODENAME=$suite" /etc/os-release; then  # the host's apt sources (mirror, updates, security)
      rm -f "$dir/etc/apt/sources.list"
      cp -a /etc/apt/sources.list.d/. "$dir/etc/apt/sources.list.d/"
      find "$dir/etc/apt/sources.list.d" -name '*.disabled*' -delete
      if [ -f /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$dir/etc/apt/sources.list"; fi
    fi
    cp -a /usr/local/share/ca-certificates/. "$dir/usr/local/share/ca-certificates/"
    chroot "$dir" update-ca-certificates >/dev/null
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb
    tar -C "$dir" -cf "$tar.part" . && mv "$tar.part" "$tar"
    rm -rf "$dir"
  fi
  ROOTFS_ID[$suite]=$(sha256sum "$tar" | cut -c1-16)
  local image=localhost/sticker-search-base/debian:$suite
  if [ "$(podman image inspect --format "{{ index .Labels \"$LABEL\" }}" "$image" 2>/dev/null)" != "${ROOTFS_ID[$suite]}" ]; then
    echo "=== podman import $image ==="
    podman import --change "LABEL $LABEL=${ROOTFS_ID[$suite]}" --change 'CMD ["bash"]' "$tar" "$image"
  fi
}
# bookworm: python3.11 and redis 7 as in the public images; trixie: PostgreSQL 17 with pgvector (bookworm has no
# pgvector package).
base_image bookworm
base_image trixie

# --- 3. the stand-ins ---
for name in "${!STAND_INS[@]}"; do
  file=${STAND_INS[$name]}
  # Sources of this stand-in: the base root filesystem, its Containerfile and the files beside it.
  sources=$( (echo "${ROOTFS_ID[@]}"; cat "$HERE/$file.Containerfile" "$HERE"/*.sh) | sha256sum | cut -c1-16)
  current=$(podman image inspect --format "{{ index .Labels \"$LABEL\" }}" "$name" 2>/dev/null || echo absent)
  if [ "$current" = "$sources" ]; then echo "up to date: $name"; continue; fi
  if [ "$current" = "<no value>" ]; then echo "left alone (not a stand-in): $name"; continue; fi
  echo "=== podman build $name ($HERE/$file.Containerfile) ==="
  podman build --network host --label "$LABEL=$sources" -f "$HERE/$file.Containerfile" -t "$name" "$HERE"
done
