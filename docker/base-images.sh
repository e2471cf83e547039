#!/usr/bin/env bash
# Make sure the base images the compose file and Dockerfiles use exist locally.
# A normal machine pulls them. Where no registry is reachable (air-gapped), each
# missing image is replaced by a stand-in built from Debian bookworm packages
# (debootstrap + docker import) under the SAME tag, so one compose file serves both.
#
#   docker/base-images.sh            ensure all base images
#   NEWSFLOW_FORCE_STANDIN=1 ...     skip the pull and build stand-ins
#   DEBIAN_MIRROR=http://...         mirror for debootstrap (default: the host's apt sources)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Keep in step with services/*/Dockerfile (ARG PYTHON_IMAGE) and docker-compose.yml;
# tests/unit/test_images.py checks that they agree.
PYTHON_IMAGE="python:3.11-slim-bookworm"
REDIS_IMAGE="redis:7-bookworm"
POSTGRES_IMAGE="postgres:15-bookworm"
BASE_IMAGES=("$PYTHON_IMAGE" "$REDIS_IMAGE" "$POSTGRES_IMAGE")
SUITE="bookworm"

log() { printf '[base-images] %s\n' "$*" >&2; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

try_pull() {
    [ "${NEWSFLOW_FORCE_STANDIN:-0}" = "1" ] && return 1
    timeout "${NEWSFLOW_PULL_TIMEOUT:-300}" docker pull -q "$1" >/dev/null 2>&1
}

# The host's bookworm mirror, from deb822 .sources or a classic sources.list.
debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk -v suite="$SUITE" '
            /^URIs:/ {u=$2} /^Suites:/ {for (i=2;i<=NF;i++) if ($i==suite) s=1}
            /^$/ {if (u!="" && s && u !~ /security/) {print u; exit} u=""; s=0}
            END {if (u!="" && s && u !~ /security/) print u}' "$f" | sed -n 1p)
        if [ -n "$uri" ]; then echo "$uri"; return; fi
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(awk -v suite="$SUITE" '$1=="deb" && $3==suite && $2 !~ /security/ {print $2; exit}' "$f")
        if [ -n "$uri" ]; then echo "$uri"; return; fi
    done
    return 1
}

# The CA bundle this host trusts; HTTPS here may be re-signed by a local CA
# that only this bundle knows, so the python stand-in carries it for pip.
host_ca_bundle() {
    local f
    for f in "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
        if [ -n "$f" ] && [ -f "$f" ]; then echo "$f"; return; fi
    done
    return 1
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing debootstrap (needed to build stand-in images)"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    else
        log "debootstrap is missing: install it (apt-get install debootstrap) or make the registry reachable"
        exit 1
    fi
}

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
CLEANUP=()
cleanup() { local d; for d in "${CLEANUP[@]}"; do $SUDO rm -rf "$d" "$d.log"; done; }
trap cleanup EXIT

# debootstrap a root with the given packages, let $2 (a function) finish it, import it as $1.
build_standin() {
    local tag="$1" finish="$2" include="$3"; shift 3
    local mirror root cache
    mirror=$(debian_mirror) || { log "no Debian $SUITE mirror in the host's apt sources; set DEBIAN_MIRROR"; exit 1; }
    cache="${NEWSFLOW_DEBOOTSTRAP_CACHE:-/var/cache/newsflow-debootstrap}"
    $SUDO mkdir -p "$cache"
    root=$(mktemp -d /tmp/newsflow-standin.XXXXXX)
    CLEANUP+=("$root")
    log "debootstrap $SUITE ($include) for $tag"
    $SUDO debootstrap --variant=minbase --cache-dir="$cache" --include="$include" \
        "$SUITE" "$root" "$mirror" >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; exit 1; }
    rm -f "$root.log"
    "$finish" "$root"
    # Keep the image small: package lists and docs are not needed to run.
    $SUDO rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
        "$root"/usr/share/man/* "$root"/usr/share/locale/*
    log "docker import $tag"
    $SUDO tar -C "$root" -c . | docker import "$@" - "$tag" >/dev/null
}

finish_python() {
    local root="$1" bundle
    # A venv at /usr/local gives the official image's layout: python, python3, pip on
    # /usr/local/bin and a writable site-packages, without touching Debian's python.
    $SUDO chroot "$root" /usr/bin/python3 -m venv /usr/local
    bundle=$(host_ca_bundle) || { log "no CA bundle found on the host"; exit 1; }
    $SUDO install -m 0644 "$bundle" "$root/etc/ssl/certs/host-ca-bundle.crt"
}

finish_redis() {
    local root="$1"
    $SUDO install -m 0755 "$here/standin/redis-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
    $SUDO mkdir -p "$root/data"
    $SUDO chroot "$root" chown redis:redis /data
}

finish_postgres() {
    local root="$1"
    $SUDO install -m 0755 "$here/standin/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
    $SUDO mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
    $SUDO chroot "$root" chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
}

standin() {
    case "$1" in
        "$PYTHON_IMAGE")
            build_standin "$1" finish_python "python3,python3-venv,ca-certificates" \
                --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
                --change 'ENV LANG=C.UTF-8' \
                --change 'ENV PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt' \
                --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/host-ca-bundle.crt' \
                --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/host-ca-bundle.crt' \
                --change 'LABEL org.newsflow.standin=debian-bookworm' \
                --change 'CMD ["python3"]'
            ;;
        "$REDIS_IMAGE")
            build_standin "$1" finish_redis "redis-server,redis-tools" \
                --change 'ENV LANG=C.UTF-8' \
                --change 'WORKDIR /data' \
                --change 'VOLUME /data' \
                --change 'EXPOSE 6379' \
                --change 'LABEL org.newsflow.standin=debian-bookworm' \
                --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
                --change 'CMD ["redis-server"]'
            ;;
        "$POSTGRES_IMAGE")
            build_standin "$1" finish_postgres "postgresql-15,postgresql-client-15" \
                --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
                --change 'ENV LANG=C.UTF-8' \
                --change 'ENV PGDATA=/var/lib/postgresql/data' \
                --change 'VOLUME /var/lib/postgresql/data' \
                --change 'EXPOSE 5432' \
                --change 'LABEL org.newsflow.standin=debian-bookworm' \
                --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
                --change 'CMD ["postgres"]'
            ;;
        *) log "no stand-in recipe for $1"; exit 1 ;;
    esac
}

main() {
    command -v docker >/dev/null 2>&1 || { log "docker is not installed"; exit 1; }
    local image missing=()
    for image in "${BASE_IMAGES[@]}"; do
        if have_image "$image"; then continue; fi
        if try_pull "$image"; then log "pulled $image"; continue; fi
        missing+=("$image")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "no container registry reachable for: ${missing[*]}"
    log "building local stand-ins from Debian $SUITE packages under the same tags (air-gapped mode)"
    ensure_debootstrap
    for image in "${missing[@]}"; do
        local t0=$SECONDS
        standin "$image"
        log "built stand-in $image in $((SECONDS - t0))s"
    done
}

main "$@"
