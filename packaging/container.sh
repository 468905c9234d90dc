# A throwaway Debian 12 system for the package tests, booted with
# systemd-nspawn: packaging/test-deb.sh installs, upgrades, removes and
# purges the packages there, and packaging/test-systemd.sh runs them under
# its systemd. Nothing is installed on the host: its /etc/chatd,
# /var/lib/chatd, users, groups and package database are never touched.
#
# The Debian root is made once with debootstrap (about a minute, from the
# Debian mirror) and kept under target/nspawn/ (one directory per set of
# debootstrap arguments; `rm -rf target/nspawn` makes it again); every test
# boots its own copy, in its own network namespace, removed at its end.
# CHAT_NSPAWN_BASE=DIR uses DIR (a debootstrapped root) instead.
#
# Sourced (bash). The caller defines fail and wait_for, sets `work` (its
# temporary directory) before container_boot, and calls container_stop
# from its EXIT trap. Needs root, systemd-nspawn (systemd-container) and
# debootstrap; container_tools installs them when CI is set.

container_suite=bookworm
container_include=systemd,systemd-sysv,dbus,procps
nspawn_pid=
container_pid=

# Installs systemd-nspawn and debootstrap when missing (with CI set), or
# fails naming them.
container_tools() {
    local need=()
    command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
    command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
    [ "${#need[@]}" -gt 0 ] || return 0
    [ -n "${CI:-}" ] || fail "missing ${need[*]} (apt-get install ${need[*]})"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
}

# Sets container_base_dir to the directory of the Debian root to copy, making
# it first if needed (once: two tests at a time wait for each other's
# debootstrap).
container_base() {
    if [ -n "${CHAT_NSPAWN_BASE:-}" ]; then
        [ -d "$CHAT_NSPAWN_BASE" ] || fail "CHAT_NSPAWN_BASE=$CHAT_NSPAWN_BASE is not a directory"
        container_base_dir=$CHAT_NSPAWN_BASE
        return
    fi
    local args="--variant=minbase --include=$container_include $container_suite"
    local cache="${CARGO_TARGET_DIR:-target}/nspawn"
    mkdir -p "$cache"
    cache=$(cd "$cache" && pwd)
    local base
    base="$cache/$container_suite-$(printf '%s' "$args" | sha256sum | cut -c1-12)"
    local lock
    exec {lock}>"$base.lock"
    flock "$lock"
    if [ ! -f "$base/.chat-ready" ]; then
        rm -rf "$base.new"
        # shellcheck disable=SC2086 # the arguments are words
        debootstrap $args "$base.new" >"$base.log" 2>&1 ||
            fail "debootstrap failed: $(tail -n 20 "$base.log")"
        touch "$base.new/.chat-ready"
        rm -rf "$base"
        mv "$base.new" "$base"
    fi
    exec {lock}>&-
    container_base_dir=$base
}

# Boots a fresh copy of the Debian root in $work/root, with a private
# network; sets nspawn_pid and container_pid (the container's systemd) and
# waits until it has booted. Files for the test go into $work/root/root/
# (not /tmp: the booted system mounts a fresh tmpfs there).
container_boot() {
    local start=$SECONDS
    container_base
    cp -a "$container_base_dir" "$work/root"
    echo "a Debian root ready in $((SECONDS - start)) s ($container_base_dir)"
    systemd-nspawn -D "$work/root" --register=no --keep-unit --boot --console=pipe \
        --private-network -M "chat-test-$$" >"$work/console.log" 2>&1 &
    nspawn_pid=$!
    wait_for 30 "the container's systemd" container_find_init
    wait_for 120 "the container to boot (last state: \${container_state:-none})" container_booted
    echo "systemd in the container: $container_state"
}

container_find_init() {
    kill -0 "$nspawn_pid" 2>/dev/null || fail "systemd-nspawn exited: $(tail -n 20 "$work/console.log")"
    container_pid=$(pgrep -P "$nspawn_pid" -x systemd | head -n1) || true
    [ -n "$container_pid" ]
}

# Until it has booted. `offline` is what systemctl says before the
# manager's socket exists, early in the boot (more so on a busy machine):
# not yet, not a failure.
container_booted() {
    container_state=$(inside systemctl is-system-running 2>/dev/null) || true
    case "$container_state" in
        running | degraded) return 0 ;;
        maintenance | stopping) fail "the container's systemd is $container_state" ;;
        *) return 1 ;;
    esac
}

# Runs a command in the container (all its namespaces, as root, with a
# clean environment: nothing of the host's leaks in).
inside() {
    nsenter -t "$container_pid" -a \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
}

# The end of chatd's journal in the container, if it runs (for a failure).
container_journal() {
    [ -n "$container_pid" ] || return 0
    echo "--- journalctl -u chatd (container)" >&2
    inside journalctl -u chatd --no-pager 2>&1 | tail -n 30 >&2 || true
}

# Powers the container off and waits for it (killed, by PID, after 30 s).
container_stop() {
    [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null || return 0
    if [ -n "$container_pid" ]; then
        inside systemctl poweroff >/dev/null 2>&1 || true
    fi
    local deadline=$((SECONDS + 30))
    while kill -0 "$nspawn_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$nspawn_pid" 2>/dev/null; then
        echo "the container did not power off in 30 s; killing it (pid $container_pid, nspawn $nspawn_pid)" >&2
        # The container's init first: killing nspawn alone leaves it running.
        [ -z "$container_pid" ] || kill -KILL "$container_pid" 2>/dev/null || true
        kill -KILL "$nspawn_pid" 2>/dev/null || true
    fi
    wait "$nspawn_pid" 2>/dev/null || true
    nspawn_pid=
}
