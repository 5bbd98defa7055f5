#!/bin/sh
# Register the OCI runtimes of isobench's container-gvisor and container-crun
# backends with the local Docker engine. Run as root; safe to run again.
#
#   sh workloads/runtimes/setup-runtimes.sh            # register, reload dockerd
#   sh workloads/runtimes/setup-runtimes.sh --install  # apt-get install runsc crun first
#
# 1. installs crun-hybrid-wrapper (see its header for why it exists) as
#    /usr/local/libexec/isobench/crun-hybrid-wrapper;
# 2. merges two entries into the "runtimes" of /etc/docker/daemon.json
#    ($DOCKER_DAEMON_JSON if set), keeping everything else in the file
#    (merge_daemon_json.py):
#      isobench-runsc: /usr/bin/runsc --network=none  (gVisor)
#      isobench-crun:  the installed wrapper          (crun)
# 3. reloads dockerd's configuration with SIGHUP (dockerd keeps running, and so
#    do its containers) and waits until `docker info` lists both runtimes.
# The oci-runc and oci-crun backends need no registration: they call runc and
# crun (through the same wrapper) directly.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
daemon_json=${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}
wrapper=/usr/local/libexec/isobench/crun-hybrid-wrapper

if [ "${1:-}" = "--install" ]; then
    missing=""
    command -v runsc >/dev/null 2>&1 || missing="$missing runsc"
    command -v crun >/dev/null 2>&1 || missing="$missing crun"
    if [ -n "$missing" ]; then
        echo "setup-runtimes: apt-get install -y$missing"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
fi
for tool in runsc crun; do
    command -v "$tool" >/dev/null 2>&1 || { echo "setup-runtimes: $tool is not installed (apt-get install -y $tool)" >&2; exit 1; }
done

# Only when it differs, so that a second run changes nothing.
cmp -s "$here/crun-hybrid-wrapper" "$wrapper" || install -D -m 0755 "$here/crun-hybrid-wrapper" "$wrapper"

changed=$(python3 "$here/merge_daemon_json.py" "$daemon_json" "$(command -v runsc)" "$wrapper")

if [ "$changed" = "changed" ]; then
    echo "setup-runtimes: added isobench-runsc and isobench-crun to $daemon_json"
    pid=$(cat /var/run/docker.pid 2>/dev/null || pidof dockerd || true)
    if [ -z "$pid" ]; then
        echo "setup-runtimes: dockerd is not running; it reads $daemon_json when it starts"
        exit 0
    fi
    echo "setup-runtimes: reloading dockerd ($pid) with SIGHUP"
    kill -HUP "$pid"
else
    echo "setup-runtimes: $daemon_json already registers isobench-runsc and isobench-crun"
fi

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    for _ in $(seq 1 50); do
        runtimes=" $(docker info --format '{{range $name, $_ := .Runtimes}}{{$name}} {{end}}') "
        case "$runtimes" in *" isobench-runsc "*)
            case "$runtimes" in *" isobench-crun "*) echo "setup-runtimes: dockerd runtimes:$runtimes"; exit 0 ;; esac ;;
        esac
        sleep 0.2
    done
    echo "setup-runtimes: dockerd did not pick up the runtimes; see its log" >&2
    exit 1
fi
