#!/usr/bin/env bash
# Builds the two Debian packages and tests them (issue 14):
#
#  1. `cargo deb -p chatd` and `cargo deb -p chat-client` (release build,
#     once), then a copy of chatd with a higher version (--deb-version, no
#     rebuild) for the upgrade;
#  2. their contents: the exact file list, modes, conffiles, maintainer
#     scripts, the man pages (gzipped, and `man --warnings` is silent on
#     them), the completions (bash -n, and they know the subcommands);
#  3. lintian: no error and no warning (info tags are listed);
#  4. as root, in a throwaway Debian 12 system booted with systemd-nspawn
#     (packaging/container.sh; its debootstrapped root is cached under
#     target/nspawn/): install both, every binary's --version, the user and
#     the group, `chatd --check-config` on the installed config,
#     `systemd-analyze verify` (nothing on stderr) and `security --offline`
#     (exposure at most 1.5) on the installed unit, the service started by
#     dpkg makes its key, the upgrade keeps it (and a local edit of the
#     conffile), `dpkg -r` keeps config and state, `dpkg -P` removes them.
#
# Nothing is installed on this machine: its /etc/chatd, /var/lib/chatd,
# users, groups and package database are left as they are (a chatd run as
# root from the checkout keeps its key in /var/lib/chatd). Step 4 needs
# root, systemd-nspawn and debootstrap (installed when CI is set); without
# root, steps 1-3 run and step 4 is skipped with a message, unless CI is
# set, where not being root is an error.
#
# Usage: packaging/test-deb.sh            (from anywhere in the checkout)
# Env:   CHAT_DEB_SKIP_BUILD=1  use the .debs already in target/debian
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
fail() {
    printf 'test-deb: FAIL: %s\n' "$*" >&2
    container_journal
    exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s until it
# succeeds, or fails the test after SECONDS.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            fail "gave up after ${limit}s waiting for: $what"
        fi
        sleep 0.1
    done
}

# shellcheck source=packaging/container.sh
. packaging/container.sh

work=$(mktemp -d /var/tmp/chat-test-deb.XXXXXX)
cleanup() {
    local rc=$?
    container_stop
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
[ -n "$version" ] || fail "no version in Cargo.toml"
deb_version="$version-1"
upgrade_version="$version-2"
arch=$(dpkg --print-architecture)
chatd_deb="target/debian/chatd_${deb_version}_${arch}.deb"
client_deb="target/debian/chat-client_${deb_version}_${arch}.deb"
upgrade_deb="$work/chatd_${upgrade_version}_${arch}.deb"

# --- 1. build ----------------------------------------------------------------
if [ -z "${CHAT_DEB_SKIP_BUILD:-}" ]; then
    say "building the packages (release)"
    start=$SECONDS
    cargo deb -p chatd --locked
    cargo deb -p chat-client --locked
    echo "built in $((SECONDS - start)) s"
fi
[ -f "$chatd_deb" ] || fail "$chatd_deb is missing"
[ -f "$client_deb" ] || fail "$client_deb is missing"
# Copies: cargo-deb deletes a package's older .debs in target/debian.
cp "$chatd_deb" "$client_deb" "$work/"
chatd_deb="$work/${chatd_deb##*/}"
client_deb="$work/${client_deb##*/}"
# The same binaries with a higher version: what an upgrade installs.
cargo deb -p chatd --locked --no-build --deb-version "$upgrade_version" --output "$upgrade_deb" >/dev/null
[ -f "$upgrade_deb" ] || fail "cargo deb --deb-version made no $upgrade_deb"
[ -f "target/debian/${chatd_deb##*/}" ] || cp "$chatd_deb" target/debian/

# --- 2. contents ---------------------------------------------------------------
say "contents"
# mode path, for every file (not directories), sorted.
listing() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ {print $1, substr($6, 2)}' | sort -k2; }
expect_listing() {
    local deb=$1 expected=$2 actual
    actual=$(listing "$deb")
    if [ "$actual" != "$(printf '%s\n' "$expected" | sort -k2)" ]; then
        diff -u <(printf '%s\n' "$expected" | sort -k2) <(printf '%s\n' "$actual") >&2 || true
        fail "$deb: unexpected file list (diff above: - expected, + actual)"
    fi
}
expect_listing "$chatd_deb" "-rw-r--r-- /etc/chatd/chatd.toml
-rwxr-xr-x /usr/bin/chatctl
-rwxr-xr-x /usr/bin/chatd
-rw-r--r-- /usr/lib/systemd/system/chatd.service
-rw-r--r-- /usr/lib/systemd/system/chatd.socket
-rw-r--r-- /usr/lib/sysusers.d/chatd.conf
-rw-r--r-- /usr/share/bash-completion/completions/chatctl
-rw-r--r-- /usr/share/bash-completion/completions/chatd
-rw-r--r-- /usr/share/doc/chatd/README.md
-rw-r--r-- /usr/share/doc/chatd/changelog.Debian.gz
-rw-r--r-- /usr/share/doc/chatd/copyright
-rw-r--r-- /usr/share/doc/chatd/examples/grafana/chatd.json
-rw-r--r-- /usr/share/doc/chatd/examples/prometheus/chatd-alerts.yml
-rw-r--r-- /usr/share/doc/chatd/operations.md
-rw-r--r-- /usr/share/fish/vendor_completions.d/chatctl.fish
-rw-r--r-- /usr/share/fish/vendor_completions.d/chatd.fish
-rw-r--r-- /usr/share/lintian/overrides/chatd
-rw-r--r-- /usr/share/man/man8/chatctl.8.gz
-rw-r--r-- /usr/share/man/man8/chatd.8.gz
-rw-r--r-- /usr/share/zsh/vendor-completions/_chatctl
-rw-r--r-- /usr/share/zsh/vendor-completions/_chatd"
expect_listing "$client_deb" "-rwxr-xr-x /usr/bin/chat
-rw-r--r-- /usr/share/bash-completion/completions/chat
-rw-r--r-- /usr/share/doc/chat-client/README.md
-rw-r--r-- /usr/share/doc/chat-client/changelog.Debian.gz
-rw-r--r-- /usr/share/doc/chat-client/copyright
-rw-r--r-- /usr/share/fish/vendor_completions.d/chat.fish
-rw-r--r-- /usr/share/lintian/overrides/chat-client
-rw-r--r-- /usr/share/man/man1/chat.1.gz
-rw-r--r-- /usr/share/zsh/vendor-completions/_chat"

field() { dpkg-deb -f "$1" "$2"; }
[ "$(field "$chatd_deb" Package)" = chatd ] || fail "chatd: Package field"
[ "$(field "$client_deb" Package)" = chat-client ] || fail "chat-client: Package field"
[ "$(field "$chatd_deb" Version)" = "$deb_version" ] || fail "chatd: Version is not $deb_version"
# ExecReload= runs /bin/kill.
field "$chatd_deb" Depends | grep -qw procps || fail "chatd does not depend on procps"
[ "$(field "$upgrade_deb" Version)" = "$upgrade_version" ] || fail "upgrade: Version is not $upgrade_version"

control="$work/control"
dpkg-deb -e "$chatd_deb" "$control"
[ "$(cat "$control/conffiles")" = /etc/chatd/chatd.toml ] || fail "chatd conffiles: $(cat "$control/conffiles")"
for script in postinst prerm postrm; do
    [ -x "$control/$script" ] || fail "chatd has no executable $script"
    sh -n "$control/$script" || fail "chatd $script: syntax"
done
grep -q 'systemd-sysusers chatd.conf' "$control/postinst" || fail "postinst does not make the user"
grep -q 'rm -rf /etc/chatd /var/lib/chatd' "$control/postrm" || fail "postrm does not purge"
# The socket unit is shipped, not enabled: it would claim the chat port.
if grep -q 'enable chatd.socket' "$control/postinst"; then fail "postinst enables chatd.socket"; fi

tree="$work/tree"
dpkg-deb -x "$chatd_deb" "$tree"
dpkg-deb -x "$client_deb" "$tree"
for page in usr/share/man/man8/chatd.8.gz usr/share/man/man8/chatctl.8.gz usr/share/man/man1/chat.1.gz; do
    gzip -t "$tree/$page" || fail "$page is not gzip"
    zcat "$tree/$page" | grep -q '^\.SH "\?EXIT STATUS\|^\.SH OPTIONS' || fail "$page has no OPTIONS"
    if command -v man >/dev/null 2>&1; then
        warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$tree/$page" 2>&1 >/dev/null)
        [ -z "$warnings" ] || fail "$page: man warns: $warnings"
    fi
done
zcat "$tree/usr/share/man/man8/chatd.8.gz" | grep -q '^\.TH chatd 8 ' || fail "chatd.8 title"
zcat "$tree/usr/share/man/man8/chatctl.8.gz" | grep -q '^\.SS .*rotate\\-key' || fail "chatctl.8 lacks rotate-key"
zcat "$tree/usr/share/man/man1/chat.1.gz" | grep -q '^\.TH chat 1 ' || fail "chat.1 title"
# The page in the package is the page `chatctl man` prints.
cmp -s <(zcat "$tree/usr/share/man/man8/chatctl.8.gz") <("$tree/usr/bin/chatctl" man) ||
    fail "chatctl.8 in the package differs from \`chatctl man\`"
cmp -s "$tree/usr/share/bash-completion/completions/chatctl" <("$tree/usr/bin/chatctl" completions bash) ||
    fail "the packaged bash completion differs from \`chatctl completions bash\`"
for bin in chatd chatctl chat; do
    bash -n "$tree/usr/share/bash-completion/completions/$bin" || fail "bash completion of $bin: syntax"
    grep -q "$bin" "$tree/usr/share/zsh/vendor-completions/_$bin" || fail "zsh completion of $bin"
    grep -q "complete -c $bin" "$tree/usr/share/fish/vendor_completions.d/$bin.fish" || fail "fish completion of $bin"
done
grep -q -- '--state-dir' "$tree/usr/share/bash-completion/completions/chatd" || fail "chatd completion lacks --state-dir"
grep -q 'rotate-key' "$tree/usr/share/bash-completion/completions/chatctl" || fail "chatctl completion lacks rotate-key"
grep -q -- '--username' "$tree/usr/share/bash-completion/completions/chat" || fail "chat completion lacks --username"
# The packaged configuration is config/chatd.toml with the admin group set.
diff <(grep -v '^admin_group = "chat-admin"$\|^# The Debian package sets this' "$tree/etc/chatd/chatd.toml") \
    <(grep -v '^# admin_group = "chat-admin"$' config/chatd.toml) >/dev/null ||
    fail "/etc/chatd/chatd.toml differs from config/chatd.toml beyond admin_group"
grep -q '^admin_group = "chat-admin"$' "$tree/etc/chatd/chatd.toml" || fail "packaged chatd.toml: admin_group not set"
grep -q "^Group=chat-admin$" "$tree/usr/lib/systemd/system/chatd.service" || fail "unit: Group=chat-admin"
echo "contents ok"

# --- 3. lintian --------------------------------------------------------------
if command -v lintian >/dev/null 2>&1; then
    say "lintian"
    # Info tags are listed too; only errors and warnings fail. (Shown
    # overrides would count as warnings: packaging/lintian/ lists them.)
    lintian --fail-on error,warning --display-info \
        "$chatd_deb" "$client_deb" >"$work/lintian" 2>&1 || lintian_rc=$?
    grep -v 'running with root privileges' "$work/lintian" || true
    [ "${lintian_rc:-0}" = 0 ] || fail "lintian reports errors or warnings (above)"
    echo "lintian: no error, no warning"
elif [ -n "${CI:-}" ]; then
    fail "lintian is not installed"
else
    echo "lintian is not installed: skipped (apt-get install lintian)"
fi

# --- 4. install, upgrade, remove, purge --------------------------------------
# In a throwaway Debian 12 system booted with systemd-nspawn
# (packaging/container.sh), never on this machine: its /etc/chatd,
# /var/lib/chatd (a chatd run as root from the checkout keeps its key there),
# users, groups and package database stay as they are.
if [ "$(id -u)" != 0 ]; then
    [ -z "${CI:-}" ] || fail "the install test needs root (CI runs as root)"
    echo "test-deb: not root: the install test is skipped (run as root: it installs, upgrades and purges the packages in a container)"
    exit 0
fi
container_tools
say "a container"
container_boot
cp "$chatd_deb" "$work/root/root/chatd.deb"
cp "$client_deb" "$work/root/root/chat-client.deb"
cp "$upgrade_deb" "$work/root/root/chatd-upgrade.deb"

say "install"
inside dpkg -i /root/chatd.deb /root/chat-client.deb
[ "$(inside chatd --version)" = "chatd $version" ] || fail "chatd --version: $(inside chatd --version)"
[ "$(inside chatctl --version)" = "chatctl $version" ] || fail "chatctl --version: $(inside chatctl --version)"
[ "$(inside chat --version)" = "chat $version" ] || fail "chat --version: $(inside chat --version)"
[ "$(inside sh -c 'command -v chat')" = /usr/bin/chat ] || fail "chat is not /usr/bin/chat"
passwd_line=$(inside getent passwd chatd) || fail "no user chatd"
IFS=: read -r _ _ chatd_uid _ _ chatd_home chatd_shell <<<"$passwd_line"
[ "$chatd_home" = /var/lib/chatd ] || fail "chatd's home is $chatd_home"
case "$chatd_shell" in */nologin | */false) ;; *) fail "chatd's shell is $chatd_shell" ;; esac
((chatd_uid < 1000)) || fail "chatd is not a system user (uid $chatd_uid)"
inside getent group chat-admin >/dev/null || fail "no group chat-admin"
inside chatd --check-config --config /etc/chatd/chatd.toml >"$work/check" || fail "chatd --check-config on the installed config"
grep -q '^admin_group = "chat-admin"' "$work/check" || fail "check-config does not show admin_group"

say "the installed unit"
for unit in chatd.service chatd.socket; do
    verify=$(inside systemd-analyze verify --man=no "/usr/lib/systemd/system/$unit" 2>&1 >/dev/null)
    [ -z "$verify" ] || fail "systemd-analyze verify $unit: $verify"
done
inside systemd-analyze security --offline=yes --no-pager /usr/lib/systemd/system/chatd.service >"$work/security" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for chatd.service: \([0-9.]*\).*/\1/p' "$work/security")
[ -n "$score" ] || fail "systemd-analyze security printed no score: $(cat "$work/security")"
echo "systemd-analyze verify: clean; security --offline: exposure $score"
awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' || fail "exposure $score is over 1.5"

say "state survives an upgrade"
# dpkg -i started the service (systemd runs in the container): it made
# its key.
active() { [ "$(inside systemctl is-active chatd.service 2>/dev/null || true)" = active ]; }
serves_its_key() {
    active && [ "$(inside chatctl key 2>/dev/null)" = "$(inside head -n1 /var/lib/chatd/key 2>/dev/null)" ]
}
wait_for 20 "chatd.service to serve the key in /var/lib/chatd/key" serves_its_key
key_before=$(inside sha256sum /var/lib/chatd/key /var/lib/chatd/identity)
inside sh -c 'echo "# a local edit" >>/etc/chatd/chatd.toml'
inside dpkg -i /root/chatd-upgrade.deb
[ "$(inside dpkg-query -W -f='${Version}' chatd)" = "$upgrade_version" ] || fail "the upgrade did not install $upgrade_version"
[ "$(inside sha256sum /var/lib/chatd/key /var/lib/chatd/identity)" = "$key_before" ] || fail "the upgrade changed the key or the identity"
inside grep -q '^# a local edit$' /etc/chatd/chatd.toml || fail "the upgrade lost a local edit of the conffile"
wait_for 20 "chatd.service to serve the same key after the upgrade" serves_its_key
echo "key, identity and the edited conffile kept"

say "remove keeps config and state; purge deletes them"
inside dpkg -r chatd chat-client
for gone in /usr/bin/chatd /usr/bin/chatctl /usr/bin/chat /usr/lib/systemd/system/chatd.service; do
    if inside test -e "$gone"; then fail "dpkg -r left $gone"; fi
done
! active || fail "chatd.service is still active after dpkg -r"
inside test -f /etc/chatd/chatd.toml || fail "dpkg -r removed /etc/chatd/chatd.toml"
inside test -f /var/lib/chatd/key -a -f /var/lib/chatd/identity || fail "dpkg -r removed the state"
inside dpkg-query -W -f='${Status}' chatd | grep -q 'config-files' || fail "chatd is not in state config-files"
inside dpkg -P chatd
if inside test -e /etc/chatd; then fail "dpkg -P left /etc/chatd"; fi
if inside test -e /var/lib/chatd; then fail "dpkg -P left /var/lib/chatd"; fi
for pkg in chatd chat-client; do
    if inside dpkg-query -W "$pkg" >/dev/null 2>&1; then fail "$pkg is still known to dpkg after the purge"; fi
done
echo "remove and purge ok"
say "test-deb: all passed"
