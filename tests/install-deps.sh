#!/bin/bash
# Installs what vmmem needs to build, test and run its test VM on Debian 12 (as root).
set -euo pipefail

packages=(
    # build
    meson ninja-build gcc libc6-dev pkg-config libcgroup-dev libglib2.0-dev libseccomp-dev
    # sanitizer build and the libFuzzer target
    clang libclang-rt-14-dev clang-format
    # the real-kernel test VM: its kernel, initramfs tools, and the qemu that runs it and the
    # nested guests inside it
    qemu-system-x86 linux-image-amd64 busybox-static cpio kmod xz-utils
    # integration tests
    jq strace util-linux
    # libvirt integration tests: the real libvirtd 9.0 (run only inside the test VM), setcap
    libvirt-daemon-system libvirt-clients libcap2-bin python3 qemu-utils
    # the --systemd boots: systemd 252 as PID 1 with machined (libvirt registers its domains)
    systemd systemd-container
    # vm-libvirt-apparmor: apparmor_parser and Debian's profiles and abstractions, loaded only
    # inside the test VM (its postinst loads nothing on a host without AppArmor)
    apparmor
    # the workload guest kit's host side inside the test VM: mkfs.ext4 for the scratch disk, ip
    # for tap NICs, the SPICE client library for display-client.py --spice
    e2fsprogs iproute2 python3-gi gir1.2-spiceclientglib-2.0
    # vm-agent: vmmemd's metrics read back with Prometheus's own text-format parser
    python3-prometheus-client
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
