#!/usr/bin/env bash
# Set up a Debian/Ubuntu host for isobench. Run as root, from anywhere; safe to
# run again: a second run changes nothing and takes a few seconds.
#
#   scripts/setup-host.sh
#
# 1. the apt packages the backends need, each checked first (its command, or
#    dpkg) and installed on its own, so that one the distribution lacks costs
#    only the backends that need it (one line names them) and the rest goes
#    on; `apt-get update` runs only when something is missing, and apt is never
#    allowed to remove a package (--no-remove) to install one;
# 2. dockerd, started in the background when `docker info` fails and no
#    dockerd runs (no systemd here): log in $ISOBENCH_DOCKERD_LOG, its pid in
#    $ISOBENCH_DOCKERD_PIDFILE. The pid file is written only when this script
#    starts dockerd, so a caller can stop exactly that one (.ci/run does);
# 3. isobench-runsc and isobench-crun registered with dockerd
#    (workloads/runtimes/setup-runtimes.sh, idempotent itself);
# 4. tox >= 4 for python3 (`python3 -m pip install "tox>=4"`);
# 5. workerd: `npm ci --prefix workloads/workerd` when node_modules is missing
#    or older than package-lock.json;
# 6. the module workers' build tools: `npm ci --prefix workloads/build` when
#    node_modules is missing or older than package-lock.json (esbuild and the
#    bundled libraries, for tests/test_workload_bundles.py and rebuilding; the
#    bundles themselves are committed and not rebuilt here);
# 7. the wasm backend's module, built into build/wasm (reused when built);
# 8. the runtimes that ship in npm packages (Deno, Bun, Wizer):
#    `npm ci --prefix workloads/engines`, as in 5.
# 9. isolated-vm, the isolate-node backend's native addon: `npm ci --prefix
#    workloads/isolated-vm`, as in 5, built from source against the headers
#    of the node on PATH (npm_config_nodedir, npm_config_build_from_source:
#    nothing is downloaded but the npm packages). A build that fails, or no
#    node headers, makes only isolate-node unavailable: a line in the summary.
# Then a summary: what it changed, and which backends are unavailable and why.
# Steps 5 to 9 write into this checkout (through build/ or node_modules when
# they are symlinks into another one).
#
# Exit status: 0 when done, also when a package the distribution lacks makes
# some backends unavailable, or isolated-vm does not build (the summary says
# which; `python -m harness list` says the same per backend); 1 when a step
# that should have worked failed (dockerd did not answer, runtime
# registration, tox, an npm ci, the wasm build);
# 2 when not run as root.
#
# Environment:
#   ISOBENCH_SETUP_PACKAGES   the apt packages to check instead of
#                             $default_packages below (space-separated). For
#                             testing the path of a package the distribution
#                             lacks without uninstalling anything:
#                             ISOBENCH_SETUP_PACKAGES="git isobench-no-such-package" scripts/setup-host.sh
#   ISOBENCH_DOCKERD_PIDFILE  default /run/isobench-dockerd.pid
#   ISOBENCH_DOCKERD_LOG      default /var/log/isobench-dockerd.log
set -euo pipefail
dockerd_pidfile=$(realpath -m "${ISOBENCH_DOCKERD_PIDFILE:-/run/isobench-dockerd.pid}")
dockerd_log=$(realpath -m "${ISOBENCH_DOCKERD_LOG:-/var/log/isobench-dockerd.log}")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
export DEBIAN_FRONTEND=noninteractive
# dockerd and runc live in /usr/sbin, which `su` without `-` leaves off PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

default_packages="docker.io nodejs npm git runsc crun runc clang lld wasi-libc libclang-rt-14-dev-wasm32 g++ make chromium"
read -r -a packages <<<"${ISOBENCH_SETUP_PACKAGES:-$default_packages}"

say() { echo "setup-host: $*"; }
indent() { sed 's/^/    /'; }
changes=()      # what this run installed, started, registered or built
unavailable=()  # "what: why", for the summary
failures=()     # steps that should have worked and did not (exit status 1)

if ((EUID != 0)); then
    say "run me as root (apt-get, dockerd, /etc/docker/daemon.json)" >&2
    exit 2
fi

# An executable file on PATH (bash's `command -v` alone also names a file that
# is not executable, where sh's does not).
have() { local path; path=$(command -v "$1" 2>/dev/null) && [[ -f $path && -x $path ]]; }
dpkg_installed() { [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]; }

# Whether a package is there: by the command isobench uses where it has one
# (so node from NodeSource, whose nodejs also provides npm, or dockerd from
# docker-ce count), else by dpkg.
present() {
    case $1 in
        docker.io) have dockerd && have docker ;;
        nodejs) have node ;;
        npm | git | runsc | crun | runc | clang | g++ | make) have "$1" ;;
        lld) have wasm-ld ;;
        chromium) have chromium || have chromium-browser ;;
        *) dpkg_installed "$1" ;;
    esac
}

# What is unavailable without a package.
needed_by() {
    case $1 in
        docker.io) echo "container, container-gvisor, container-crun" ;;
        nodejs) echo "subprocess, subprocess-prefork, isolate-node and every container backend (container, container-gvisor, container-crun, oci-runc, oci-crun); npm ci for workerd and workloads/build" ;;
        npm) echo "workerd, subprocess-deno, subprocess-bun, wasm-wizer, isolate-node; the module workers' build tools (workloads/build: rebuilding bundles and checking them in tests)" ;;
        git) echo "the git provenance (commit, branch) recorded with results" ;;
        runsc) echo "container-gvisor" ;;
        crun) echo "container-crun, oci-crun" ;;
        runc) echo "oci-runc" ;;
        clang | lld | wasi-libc | libclang-rt-14-dev-wasm32) echo "wasm (its module cannot be built)" ;;
        g++ | make) echo "isolate-node (isolated-vm's native build)" ;;
        chromium) echo "the report's browser test" ;;
        *) echo "nothing isobench knows of (not one of its packages)" ;;
    esac
}

# 1. apt packages -----------------------------------------------------------
missing=()
for package in "${packages[@]}"; do
    present "$package" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
    say "apt packages: all present (${packages[*]})"
else
    say "apt packages missing: ${missing[*]}"
    apt_log=$(mktemp)
    trap 'rm -f "$apt_log"' EXIT
    apt_get() { apt-get -qq -o DPkg::Lock::Timeout=300 "$@"; }
    apt_get update >"$apt_log" 2>&1 || say "apt-get update failed ($(grep -m1 '^[EW]:' "$apt_log" || tail -n1 "$apt_log")); trying the installs anyway"
    for package in "${missing[@]}"; do
        say "installing $package"
        if apt_get install -y --no-remove "$package" >"$apt_log" 2>&1 && present "$package"; then
            changes+=("installed $package")
        else
            reason=$(grep -m1 '^E:' "$apt_log" || true)
            [[ -n $reason ]] || { present "$package" || reason="installed, but its command is not on PATH"; }
            say "cannot install $package (${reason:-apt-get failed}); unavailable because of it: $(needed_by "$package")"
            unavailable+=("$package not installed (${reason:-apt-get failed}): $(needed_by "$package")")
        fi
    done
fi

# 2. dockerd ----------------------------------------------------------------
docker_up() { docker info >/dev/null 2>&1; }
wait_for_docker() {
    for _ in $(seq 1 60); do docker_up && return 0; sleep 1; done
    return 1
}
is_dockerd() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == dockerd ]]; }
if ! have dockerd || ! have docker; then
    say "dockerd: not installed; skipping it and the runtime registration"
elif docker_up; then
    say "dockerd: already answers"
elif running=$(pidof dockerd); then
    say "dockerd: already running (pid $running) but not answering yet; waiting up to 60 s"
    wait_for_docker || failures+=("dockerd (pid $running, not started here) does not answer \`docker info\`")
else
    say "dockerd: starting it (log: $dockerd_log)"
    mkdir -p "$(dirname "$dockerd_log")" "$(dirname "$dockerd_pidfile")"
    # setsid: its own session, so it outlives this script and the caller's
    # process group; the pid file names it for whoever stops it. From /, so
    # it does not hold this checkout's directory.
    (cd / && exec setsid nohup dockerd >"$dockerd_log" 2>&1 </dev/null) &
    dockerd_pid=$!
    echo "$dockerd_pid" >"$dockerd_pidfile"
    if wait_for_docker; then
        # $! is dockerd itself unless setsid had to fork; then ask dockerd.
        if ! is_dockerd "$dockerd_pid" && is_dockerd "$(cat /var/run/docker.pid 2>/dev/null)"; then
            dockerd_pid=$(cat /var/run/docker.pid)
            echo "$dockerd_pid" >"$dockerd_pidfile"
        fi
        say "dockerd: running (pid $dockerd_pid, written to $dockerd_pidfile)"
        changes+=("started dockerd (pid $dockerd_pid in $dockerd_pidfile; log $dockerd_log)")
    else
        say "dockerd did not answer within 60 s; stopping it. Its log ends:"
        tail -n 20 "$dockerd_log" | indent
        kill "$dockerd_pid" 2>/dev/null || true
        rm -f "$dockerd_pidfile"
        failures+=("dockerd did not start (log: $dockerd_log)")
    fi
fi
# A pid file whose process is no dockerd any more is stale: nobody can stop it.
if [[ -f $dockerd_pidfile ]] && ! is_dockerd "$(cat "$dockerd_pidfile")"; then
    rm -f "$dockerd_pidfile"
fi

# 3. runtimes with dockerd --------------------------------------------------
if ! have dockerd; then
    :  # said above; docker.io's line in the summary covers the backends
elif ! have runsc || ! have crun; then
    # setup-runtimes.sh registers both or neither.
    say "runtimes: not registered (needs both runsc and crun)"
    unavailable+=("isobench-runsc and isobench-crun not registered with dockerd (needs both runsc and crun): container-gvisor, container-crun")
elif output=$(sh workloads/runtimes/setup-runtimes.sh 2>&1); then
    if grep -q "added" <<<"$output"; then
        indent <<<"$output"
        changes+=("registered isobench-runsc and isobench-crun with dockerd")
    fi
    say "runtimes: isobench-runsc and isobench-crun registered with dockerd"
else
    indent <<<"$output"
    failures+=("registering the runtimes (sh workloads/runtimes/setup-runtimes.sh)")
fi

# 4. tox --------------------------------------------------------------------
# The version of `python3 -m tox`, or nothing.
tox_version() { python3 -m tox --version 2>/dev/null | sed -n '1s/^\([0-9][0-9.]*\) .*/\1/p' || true; }
tox_is_4() { local major; major=$(tox_version); major=${major%%.*}; [[ $major =~ ^[0-9]+$ ]] && ((major >= 4)); }
if ! have python3; then
    failures+=("python3 not found: no tox, no runtime registration, no wasm module")
elif tox_is_4; then
    say "tox: $(tox_version) for $(command -v python3)"
else
    say "tox: installing tox>=4 for $(command -v python3)"
    if pip_out=$(PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check "tox>=4" 2>&1) && tox_is_4; then
        changes+=("installed tox $(tox_version) for $(command -v python3)")
    else
        # Debian's and Ubuntu's own python3 refuse (PEP 668, "externally
        # managed"); a python3 of your own (pyenv, as here) or pipx does not.
        failures+=("installing tox for $(command -v python3): $(grep -m1 -i 'error' <<<"$pip_out" || tail -n1 <<<"$pip_out")")
    fi
fi
if have python3 && tox_is_4 && ! have tox; then
    say "note: \`tox\` is not on PATH; \`python3 -m tox\` is"
fi

# 5., 6. and 8. npm installs -----------------------------------------------
# `npm ci` in a folder when its node_modules is missing or older than its
# package-lock.json. npm writes node_modules/.package-lock.json last, so its
# age is when the last install finished (the directory's own mtime changes
# with any entry).
npm_install() {
    local folder=$1 label=$2 what=$3
    if ! have npm; then
        say "$label: no npm; not installed"
    elif [[ ! -e $folder/node_modules/.package-lock.json || $folder/package-lock.json -nt $folder/node_modules/.package-lock.json ]]; then
        say "$label: npm ci --prefix $folder"
        if npm ci --prefix "$folder" --no-audit --no-fund --loglevel=error; then
            changes+=("installed $what ($folder/node_modules)")
        else
            failures+=("npm ci --prefix $folder")
        fi
    else
        say "$label: $folder/node_modules is up to date with package-lock.json"
    fi
}
npm_install workloads/workerd workerd workerd
# esbuild and the libraries the bundles in workloads/<name>/worker.js are built
# from; the bundles are committed, so this only installs.
npm_install workloads/build "bundle tools" "the module workers' build tools"
# Deno, Bun and Wizer, whose npm packages carry the binaries (pinned by
# workloads/engines/package-lock.json).
npm_install workloads/engines engines "Deno, Bun and Wizer"

# 7. wasm module ------------------------------------------------------------
# harness.backends.wasm_module needs only the standard library, so the host's
# python3 builds it (no tox environment). It reuses a module built from the
# same sources; without the toolchain and without such a module it fails, and
# the apt step above has already named the missing package.
if have python3; then
    wasm() { PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" python3 "$@"; }
    if ! module=$(wasm -c 'from harness.backends.wasm_module import module_path; print(module_path())' 2>&1); then
        failures+=("the wasm module: $(command -v python3) cannot import harness.backends.wasm_module: $(tail -n1 <<<"$module")")
    elif [[ -e $module ]]; then
        say "wasm: module built (${module#"$repo"/})"
    else
        toolchain=1
        for package in clang lld wasi-libc libclang-rt-14-dev-wasm32; do present "$package" || toolchain=0; done
        ((toolchain)) && say "wasm: building ${module#"$repo"/} (about a minute)"
        if error=$(wasm -m harness.backends.wasm_module 2>&1 >/dev/null); then
            changes+=("built ${module#"$repo"/}")
        elif ((toolchain)); then
            failures+=("the wasm module: ${error#isobench: error: }")
        else
            say "wasm: not built: ${error#isobench: error: }"
        fi
    fi
fi

# 9. isolated-vm -------------------------------------------------------------
# The isolate-node backend's native addon, built against the headers of the
# node on PATH: npm_config_nodedir names them (else node-gyp downloads them)
# and npm_config_build_from_source keeps prebuild-install from fetching a
# prebuilt binary. Up to date as in npm_install, and only if the addon was
# built. A failed build costs only isolate-node: it goes to the summary's
# "unavailable here", not to FAILED (the addon is the one step that compiles
# C++ against node's own V8 headers, so a node without matching headers
# cannot have it at all).
isolated_vm_install() {
    local folder=workloads/isolated-vm node_path nodedir output reason
    if ! have npm || ! have node; then
        say "isolated-vm: no npm or node; not built"  # the apt step's line names isolate-node
        return
    fi
    node_path=$(readlink -f "$(command -v node)")
    nodedir=$(dirname "$(dirname "$node_path")")
    if [[ ! -f $nodedir/include/node/common.gypi ]]; then
        say "isolated-vm: no headers for $node_path at $nodedir/include/node; not built"
        unavailable+=("isolated-vm not built (no node headers at $nodedir/include/node): isolate-node")
        return
    fi
    if [[ -e $folder/node_modules/isolated-vm/out/isolated_vm.node && -e $folder/node_modules/.package-lock.json
          && ! $folder/package-lock.json -nt $folder/node_modules/.package-lock.json ]]; then
        say "isolated-vm: $folder/node_modules is built and up to date with package-lock.json"
        return
    fi
    say "isolated-vm: npm ci --prefix $folder (a native build against $nodedir/include/node, about a minute)"
    if output=$(npm_config_nodedir=$nodedir npm_config_build_from_source=true \
                npm ci --prefix "$folder" --no-audit --no-fund --loglevel=error 2>&1) \
       && [[ -e $folder/node_modules/isolated-vm/out/isolated_vm.node ]]; then
        changes+=("built isolated-vm ($folder/node_modules, against $nodedir/include/node)")
    else
        # The most telling line: a compiler error, a gyp error, an exception, npm's own.
        reason=""
        for pattern in ': error: ' 'gyp: ' 'Error: ' 'npm error '; do
            reason=$(grep -m1 -e "$pattern" <<<"$output") && break
        done
        reason=${reason:-$(tail -n1 <<<"$output")}
        reason=${reason#npm error }
        say "isolated-vm: the build failed; its output ends:"
        tail -n 15 <<<"$output" | indent
        unavailable+=("isolated-vm not built (${reason:0:200}): isolate-node")
    fi
}
isolated_vm_install

# 10. summary ---------------------------------------------------------------
echo
if ((${#changes[@]})); then
    say "done; this run:"
    printf '    %s\n' "${changes[@]}"
else
    say "done; nothing to change"
fi
if ((${#unavailable[@]})); then
    say "unavailable here:"
    printf '    %s\n' "${unavailable[@]}"
elif ((${#failures[@]} == 0)); then
    say "every backend's prerequisites are present"
fi
if ((${#failures[@]})); then
    say "FAILED:"
    printf '    %s\n' "${failures[@]}"
    exit 1
fi
