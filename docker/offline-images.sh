#!/usr/bin/env bash
# Makes the shop's local container images from Debian bookworm packages, for machines that have a
# Docker engine and a Debian mirror but no container registry:
#   shop-local/debian:bookworm   debootstrap (minbase) + docker import
#   shop-local/postgres:15       docker build FROM the above (docker/images/postgres)
#   shop-local/runtime:bookworm  docker build FROM the above (docker/images/runtime)
# Images that already exist are skipped unless --force is given. Needs root (debootstrap).
#
# Usage: docker/offline-images.sh [--force] [debian|postgres|runtime ...]   (default: all three)
# Environment: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR (default: what this host's apt uses, else
# deb.debian.org), OFFLINE_CACHE (default: <repo>/.offline, holds downloaded .debs between runs).
set -euo pipefail

readonly SUITE=bookworm
# PostgreSQL's major version is the one Debian bookworm carries; it names the image tag.
readonly PG_MAJOR=15
readonly DEBIAN_IMAGE="shop-local/debian:${SUITE}"
readonly POSTGRES_IMAGE="shop-local/postgres:${PG_MAJOR}"
readonly RUNTIME_IMAGE="shop-local/runtime:${SUITE}"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$script_dir")
cache_dir=${OFFLINE_CACHE:-$repo_dir/.offline}/debootstrap-cache

force=false
work=""  # build_debian's temporary directory
wanted=()
for arg in "$@"; do
    case $arg in
        --force) force=true ;;
        debian | postgres | runtime) wanted+=("$arg") ;;
        -h | --help) sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done
[[ ${#wanted[@]} -gt 0 ]] || wanted=(debian postgres runtime)

log() { printf '==> %s\n' "$*"; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The first URI of an enabled apt source on this host whose path ends in /$1, if any.
host_mirror() {
    local path=$1
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -oE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+' |
        grep -oE 'https?://[^[:space:]]+' | sed 's:/*$::' | grep -E "/${path}\$" | head -n1 || true
}

mirror=${DEBIAN_MIRROR:-$(host_mirror debian)}
mirror=${mirror:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-$(host_mirror debian-security)}
security_mirror=${security_mirror:-http://deb.debian.org/debian-security}

# Runs "$@" and reports how long it took.
timed() {
    local label=$1 start end
    shift
    start=$(date +%s)
    "$@"
    end=$(date +%s)
    log "$label: done in $((end - start)) s"
}

# Removes build_debian's work directory. debootstrap mounts proc and sys inside the new tree, and a
# failed run can leave them mounted: unmount first, and never let rm cross into another file system.
remove_work_dir() {
    local mount_point
    awk -v root="$work/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mount_point; do umount -l "$mount_point" || true; done
    rm -rf --one-file-system "$work"
}

build_debian() {
    [[ $(id -u) -eq 0 ]] || { echo "debootstrap needs root" >&2; exit 1; }
    command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

    work=$(mktemp -d /var/tmp/shop-debian.XXXXXX)
    local root=$work/rootfs
    trap remove_work_dir EXIT
    mkdir -p "$cache_dir"

    log "$DEBIAN_IMAGE: debootstrap --variant=minbase $SUITE from $mirror"
    debootstrap --variant=minbase --cache-dir="$cache_dir" "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -n 30 "$work/debootstrap.log" >&2
        exit 1
    }

    log "$DEBIAN_IMAGE: configuring apt sources ($SUITE, $SUITE-updates, $SUITE-security) and upgrading"
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # The same trimming debian:bookworm-slim does: no documentation, manual pages or translations,
    # which no container reads. Copyright files stay for licence compliance.
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
    # Package scripts must not try to start daemons inside an image build.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"

    cp /etc/resolv.conf "$root/etc/resolv.conf"
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get update -q && apt-get upgrade -y -q -o Dpkg::Use-Pty=0' >"$work/upgrade.log" 2>&1 || {
        tail -n 30 "$work/upgrade.log" >&2
        exit 1
    }
    grep -E '^[0-9]+ upgraded' "$work/upgrade.log" | sed 's/^/    /' || true

    log "$DEBIAN_IMAGE: trimming and importing"
    find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$root"/usr/share/{man,info,groff,lintian,linda,locale}/*
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/var/log/apt/* "$root"/tmp/*
    find "$root/var/log" -type f -exec truncate -s 0 {} +
    # Docker provides these at run time; the host's copies must not leak into the image.
    : >"$root/etc/resolv.conf"
    rm -f "$root/etc/hostname"

    tar --numeric-owner --xattrs -C "$root" -c . |
        docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["bash"]' \
            --change "LABEL org.opencontainers.image.title=\"Debian $SUITE minbase\" org.opencontainers.image.created=\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"" \
            --message "debootstrap --variant=minbase $SUITE $mirror (docker/offline-images.sh)" \
            - "$DEBIAN_IMAGE" >/dev/null

    remove_work_dir
    trap - EXIT
}

build_from_debian() {
    local image=$1 dir=$2
    shift 2
    # --force means a fresh build, not the layer cache of the previous one.
    [[ $force == false ]] || set -- --no-cache "$@"
    log "$image: docker build docker/images/$dir FROM $DEBIAN_IMAGE"
    docker build --quiet --force-rm --build-arg "BASE_IMAGE=$DEBIAN_IMAGE" "$@" -t "$image" "$script_dir/images/$dir" >/dev/null
}

# Builds one image by name unless it exists (or --force), building shop-local/debian first if needed.
make_image() {
    local name=$1 image
    case $name in
        debian) image=$DEBIAN_IMAGE ;;
        postgres) image=$POSTGRES_IMAGE ;;
        runtime) image=$RUNTIME_IMAGE ;;
    esac
    if image_exists "$image" && [[ $force == false ]]; then
        log "$image: exists, skipped (--force rebuilds it)"
        return
    fi
    if [[ $name != debian ]] && ! image_exists "$DEBIAN_IMAGE"; then
        make_image debian
    fi
    if image_exists "$image"; then
        replaced+=("$(docker image inspect -f '{{.Id}}' "$image")")
    fi
    case $name in
        debian) timed "$image" build_debian ;;
        postgres) timed "$image" build_from_debian "$image" postgres --build-arg "PG_MAJOR=$PG_MAJOR" ;;
        runtime) timed "$image" build_from_debian "$image" runtime ;;
    esac
}

total_start=$(date +%s)
replaced=()
for name in "${wanted[@]}"; do
    make_image "$name"
done
docker image prune --force --filter label=shop-local.intermediate=true >/dev/null
# Remove the images that --force replaced, newest first so that children go before their parents;
# one still used by a container or by another image stays.
for ((i = ${#replaced[@]} - 1; i >= 0; i--)); do
    docker rmi "${replaced[i]}" >/dev/null 2>&1 && log "removed the replaced image ${replaced[i]:7:12}" || true
done
log "total: $(($(date +%s) - total_start)) s"
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep '^shop-local/' | sed 's/^/    /'
