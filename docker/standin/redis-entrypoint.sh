#!/bin/sh
# Stand-in for the official redis image's entrypoint (air-gapped builds only).
set -e
# "redis-server" is implied when the first argument is an option or a config file.
case "$1" in -*|*.conf) set -- redis-server "$@" ;; esac

if [ "$1" = "redis-server" ] && [ "$(id -u)" = "0" ]; then
    find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "$1" = "redis-server" ]; then
    # The official image is built with protected mode off so other containers can
    # connect; Debian's redis-server keeps it on unless told otherwise.
    case " $* " in *" --protected-mode "*) ;; *) set -- "$@" --protected-mode no ;; esac
fi
exec "$@"
