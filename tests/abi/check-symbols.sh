#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-symbols.sh LIBRARY VERSION-SCRIPT
#
# The ABI of libvmmem is what the dynamic symbol table says, not what the header hopes: this
# compares them.  Every name listed global in the version script must be exported as a function,
# under the version node it is listed in; nothing else may be exported (a missing `local: *;` or a
# stray VMMEM_PUBLIC would leak internals that callers then depend on); the soname must be
# libvmmem.so.0.  When the public header sits where the source tree keeps it, every function it
# declares must be listed too, so that a new entry point cannot be forgotten in the script, and
# its VMMEM_VERSION_MAJOR.MINOR must be the newest node.
set -eu

SONAME=libvmmem.so.0

if [ $# -ne 2 ]; then
    echo "usage: $0 LIBRARY VERSION-SCRIPT" >&2
    exit 2
fi
lib=$1
sym=$2

for tool in nm readelf; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool (binutils) is not installed"
        exit 77 # meson: skipped
    fi
done

export LC_ALL=C
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# "name node" for every global of the version script.  Nodes look like `LIBVMMEM_0.1 {` and end
# with `};` or `} LIBVMMEM_0.1;`; only the `global:` part of each is collected.
sed -e 's,/\*.*\*/,,g' -e 's,#.*$,,' "$sym" | awk '
    /^[ \t]*[A-Za-z_][A-Za-z0-9_.]*[ \t]*\{/ { node = $1; sub(/\{.*/, "", node); scope = "global"; next }
    /^[ \t]*\}/                             { node = ""; next }
    /^[ \t]*global[ \t]*:/                  { scope = "global"; next }
    /^[ \t]*local[ \t]*:/                   { scope = "local"; next }
    node != "" && scope == "global" {
        gsub(/[ \t;]/, "")
        if ($0 != "") print $0, node
    }' | sort >"$tmp/listed"
cut -d' ' -f2 "$tmp/listed" | sort -u >"$tmp/nodes"

if [ ! -s "$tmp/listed" ]; then
    echo "FAIL: no global symbols found in $sym" >&2
    exit 1
fi

# "name node type" for every defined dynamic symbol.  nm -D prints versioned names as
# name@@NODE (the default version) or name@NODE (an older one); the nodes themselves appear as
# absolute (A) symbols and are not exports.
nm -D --defined-only --format=posix "$lib" | awk '
    {
        name = $1; type = $2; node = "-"
        if (index(name, "@@")) { node = substr(name, index(name, "@@") + 2); name = substr(name, 1, index(name, "@@") - 1) }
        else if (index(name, "@")) { node = substr(name, index(name, "@") + 1); name = substr(name, 1, index(name, "@") - 1) }
        print name, node, type
    }' | sort >"$tmp/exported-all"
awk 'NR == FNR { nodes[$1] = 1; next } !($3 == "A" && ($1 in nodes))' "$tmp/nodes" \
    "$tmp/exported-all" >"$tmp/exported"

# Listed but not exported, or exported under another node or as something else than code.
while read -r name node; do
    line=$(awk -v n="$name" '$1 == n' "$tmp/exported")
    if [ -z "$line" ]; then
        echo "FAIL: $name is listed in $(basename "$sym") but not exported" >&2
        fail=1
        continue
    fi
    # shellcheck disable=SC2086 # split "name node type" into $1 $2 $3
    set -- $line
    if [ "$2" != "$node" ]; then
        echo "FAIL: $name is exported as version '$2', listed under '$node'" >&2
        fail=1
    fi
    if [ "$3" != T ]; then
        echo "FAIL: $name is exported with type '$3', expected a function (T)" >&2
        fail=1
    fi
done <"$tmp/listed"

# Exported but not listed: only the version script decides what is public.
cut -d' ' -f1 "$tmp/listed" | sort -u >"$tmp/listed-names"
while read -r name node type; do
    if ! grep -qxF "$name" "$tmp/listed-names"; then
        echo "FAIL: $name ($type, version '$node') is exported but not listed in $(basename "$sym")" >&2
        fail=1
    elif [ "${name#vmmem_}" = "$name" ]; then
        echo "FAIL: $name is exported outside the vmmem_ namespace" >&2
        fail=1
    fi
done <"$tmp/exported"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "$SONAME" ]; then
    echo "FAIL: soname is '${soname:-none}', expected '$SONAME'" >&2
    fail=1
fi

header=$(dirname "$sym")/../include/vmmem/vmmem.h
if [ -f "$header" ]; then
    # Declarations start with VMMEM_PUBLIC and name the function on that line.
    sed -n 's/^VMMEM_PUBLIC[^(]*[ *]\(vmmem_[A-Za-z0-9_]*\)(.*/\1/p' "$header" | sort -u >"$tmp/declared"
    if [ ! -s "$tmp/declared" ]; then
        echo "FAIL: no VMMEM_PUBLIC declarations found in $header" >&2
        fail=1
    fi
    for name in $(comm -23 "$tmp/declared" "$tmp/listed-names"); do
        echo "FAIL: $name is declared in vmmem.h but not listed in $(basename "$sym")" >&2
        fail=1
    done
    for name in $(comm -13 "$tmp/declared" "$tmp/listed-names"); do
        echo "FAIL: $name is listed in $(basename "$sym") but not declared in vmmem.h" >&2
        fail=1
    done
    # VMMEM_CHECK_VERSION(0, N, 0) must guard what the newest node LIBVMMEM_0.N added.
    newest=$(sed 's/^LIBVMMEM_//' "$tmp/nodes" | sort -t. -k1,1n -k2,2n | tail -n 1)
    macros=$(sed -n 's/^#define VMMEM_VERSION_MAJOR \([0-9]*\)$/\1/p; s/^#define VMMEM_VERSION_MINOR \([0-9]*\)$/\1/p' "$header" | paste -sd.)
    if [ "$macros" != "$newest" ]; then
        echo "FAIL: vmmem.h says version ${macros:-none}, the newest symbol node is LIBVMMEM_$newest" >&2
        fail=1
    fi
fi

# A manager that links libvmmem must not pull in what only the launchers use: libseccomp, and
# libvirt's domain and machine-name rules (libvmmem-launcher, libvmmem/meson.build).
if readelf -d "$lib" | grep -q 'NEEDED.*libseccomp'; then
    echo "FAIL: $(basename "$lib") links libseccomp" >&2
    fail=1
fi
if nm "$lib" | grep -Eq ' (libvirt_|seccomp_filter_)'; then
    echo "FAIL: $(basename "$lib") carries launcher code: $(nm "$lib" | grep -E ' (libvirt_|seccomp_filter_)' | head -n 3 | tr '\n' ' ')" >&2
    fail=1
fi

if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "ok: $(wc -l <"$tmp/listed") symbols in $(tr '\n' ' ' <"$tmp/nodes")exported, nothing else; soname $soname"
