#!/usr/bin/env bash
# Builds a local Docker image of the end-to-end checks: `build.sh` (or `build.sh base`) the one
# they run PostgreSQL and Redis from, `build.sh systemd` the one that boots systemd as PID 1 to run
# the NixOS units (checks/src/systemd/).
#
# No image registry is reachable, so an image is assembled from Debian packages: debootstrap a
# minimal bookworm rootfs with the image's packages, add the image's files (./files or
# ./systemd-files), tar it and `docker import` it. The tag is a hash of this script and those
# files, so editing either
# yields a new image while an unchanged one is reused (the script is idempotent and cheap when the
# image exists).
#
# Starts dockerd when no engine answers. Prints progress on stderr and the image reference
# (`stackr-checks-base:<hash>`) as the only line on stdout, which is what the Rust harness reads.
#
# Environment:
#   STACKR_CHECKS_CACHE   where the rootfs tarball is cached (default /var/cache/stackr-checks)
#   STACKR_DEBIAN_MIRROR  Debian mirror (default: the first deb.debian.org-style URI apt uses)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${STACKR_CHECKS_CACHE:-/var/cache/stackr-checks}"
suite=bookworm
flavor="${1:-base}"
case "$flavor" in
    base)
        packages=postgresql-15,redis-server,ca-certificates
        repository=stackr-checks-base
        files=files
        # Bump when build_rootfs_tarball changes what it produces, so the cached rootfs is rebuilt.
        rootfs_format=1
        import_changes=(
            --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
            --change 'ENV LANG=C.UTF-8'
            --change 'ENV PGDATA=/var/lib/postgresql/data'
            --change 'EXPOSE 5432 6379'
            --change 'CMD ["/usr/local/bin/stackr-postgres-entry"]'
        )
        ;;
    systemd)
        # systemd as init; the servers the NixOS units run (PostgreSQL 15, Redis) with their
        # clients (the checks' probes), curl for HTTP probes inside the container, acl and procps
        # to inspect credentials and processes; nginx and iptables for the load balancer and
        # firewall of a host of a stack placed on several hosts.
        packages=systemd,systemd-sysv,dbus,postgresql-15,redis-server,ca-certificates,curl,acl,procps,nginx,iptables
        repository=stackr-checks-systemd
        files=systemd-files
        rootfs_format=systemd-2
        # `container=docker` tells systemd it runs in a container. (Its halt signal, SIGRTMIN+3,
        # is given at `docker create`: `docker import` cannot set STOPSIGNAL.)
        import_changes=(
            --change 'ENV container=docker'
            --change 'CMD ["/sbin/init"]'
        )
        ;;
    *)
        printf 'usage: %s [base|systemd]\n' "$0" >&2
        exit 2
        ;;
esac

log() { printf 'stackr-checks image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The tag covers everything that shapes the image: this script and the files copied into it.
content_tag() {
    (
        cd "$here"
        sha256sum build.sh
        find "$files" -type f | LC_ALL=C sort | xargs sha256sum
        find "$files" -type f | LC_ALL=C sort | xargs stat -c '%a %n'
    ) | sha256sum | cut -c1-16
}

# dockerd is not a service on CI machines or in containers; start it detached when none answers.
ensure_docker() {
    if docker info >/dev/null 2>&1; then return; fi
    command -v dockerd >/dev/null || die "no Docker engine answers and dockerd is not installed (apt-get install -y docker.io)"
    [ "$(id -u)" -eq 0 ] || die "no Docker engine answers and only root can start dockerd here; start it (sudo dockerd &) and retry"
    log "no Docker engine answers; starting dockerd (log: /var/log/dockerd.log)"
    setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null 9>&- &
    for _ in $(seq 1 120); do
        if docker info >/dev/null 2>&1; then log "dockerd is up"; return; fi
        sleep 0.5
    done
    tail -n 20 /var/log/dockerd.log >&2 || true
    die "dockerd did not come up within 60 s (see /var/log/dockerd.log)"
}

# Use the mirror apt is configured with, so the build works wherever apt does.
debian_mirror() {
    if [ -n "${STACKR_DEBIAN_MIRROR:-}" ]; then echo "$STACKR_DEBIAN_MIRROR"; return; fi
    local uri
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
        | grep -oE 'https?://[^ ]*/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)"
    echo "${uri:-http://deb.debian.org/debian}"
}

build_rootfs_tarball() {
    local tarball="$1" rootfs
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install -y debootstrap)"
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
    rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
    # shellcheck disable=SC2064  # expand now: the path is fixed
    trap "rm -rf '$rootfs'" EXIT
    local mirror
    mirror="$(debian_mirror)"
    log "debootstrap $suite ($packages) from $mirror; takes a few minutes"
    debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || { tail -n 30 "$cache/debootstrap.log" >&2; die "debootstrap failed (full log: $cache/debootstrap.log)"; }

    # The package scripts create a default cluster and service config we do not use: the entry
    # script makes a fresh cluster per container. Drop it with caches and docs to keep the image small.
    rm -rf "$rootfs/var/lib/postgresql/15/main" "$rootfs/etc/postgresql/15/main" \
        "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    if [ "$flavor" = systemd ]; then
        # Only the units under test run: not Debian's own PostgreSQL, Redis and nginx services,
        # and no login prompts on consoles a container does not have.
        rm -f "$rootfs"/etc/systemd/system/multi-user.target.wants/postgresql.service \
            "$rootfs"/etc/systemd/system/multi-user.target.wants/redis-server.service \
            "$rootfs"/etc/systemd/system/multi-user.target.wants/nginx.service \
            "$rootfs"/etc/systemd/system/getty.target.wants/*
    fi
    tar --numeric-owner -C "$rootfs" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
    trap - EXIT
}

main() {
    local tag image tarball
    tag="$(content_tag)"
    image="$repository:$tag"

    mkdir -p "$cache"
    # Several test binaries may call this at once; one starts dockerd and builds, the others wait
    # and reuse. (dockerd is started with fd 9 closed so that it does not hold the lock.)
    exec 9>"$cache/build.lock"
    flock 9
    ensure_docker

    if docker image inspect "$image" >/dev/null 2>&1; then
        log "$image exists"
        echo "$image"
        return
    fi

    # The debootstrapped rootfs depends only on the suite and package list, so it is cached under
    # their hash and survives edits of ./files; the image tarball is that rootfs plus ./files.
    local rootfs_key
    rootfs_key="$(printf '%s %s %s\n' "$suite" "$packages" "$rootfs_format" | sha256sum | cut -c1-16)"
    local base_tarball="$cache/rootfs-$suite-$rootfs_key.tar"
    if [ ! -s "$base_tarball" ]; then
        build_rootfs_tarball "$base_tarball"
    else
        log "reusing cached rootfs $base_tarball"
    fi
    tarball="$cache/image-$tag.tar"
    cp "$base_tarball" "$tarball.partial"
    # Regular files, and the directories the rootfs lacks: docker import refuses an archive that
    # lists a path twice.
    local rootfs_dirs
    rootfs_dirs="$(mktemp)"
    tar -tf "$base_tarball" | grep '/$' | sed 's|/$||' | LC_ALL=C sort -u >"$rootfs_dirs"
    (cd "$here/$files" && {
        find . -mindepth 1 -type d | LC_ALL=C sort | LC_ALL=C comm -23 - "$rootfs_dirs"
        find . -type f | LC_ALL=C sort
    } | tar --owner=0 --group=0 --no-recursion -rf "$tarball.partial" -T -)
    rm -f "$rootfs_dirs"
    mv "$tarball.partial" "$tarball"

    log "importing $tarball as $image"
    docker import "${import_changes[@]}" "$tarball" "$image" >/dev/null
    rm -f "$tarball"
    # Older tags of this image are leftovers of earlier versions of this script: drop them.
    docker image ls --format '{{.Repository}}:{{.Tag}}' "$repository" | grep -vxF "$image" \
        | xargs -r docker image rm >/dev/null 2>&1 || true
    log "built $image"
    echo "$image"
}

main "$@"
