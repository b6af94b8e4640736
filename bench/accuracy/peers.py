# SPDX-License-Identifier: LGPL-2.1-or-later
"""The overhead budgets other platforms give a QEMU VM, as they compute them.

Each function takes the VM's facts (a dict with ram, vcpus, maxcpus, iothreads, graphics,
video_ram) and returns bytes of overhead on top of the guest RAM charged to the memory
controller.  The formulas and their sources are in ../../shared/reference/overhead-anchors.md
(cited as anchors §N) and in docs/accuracy.md.
"""

MiB = 1 << 20


def kubevirt_qemu(vm):
    """KubeVirt's QEMU terms (pkg/hypervisor/kvm/hypervisorbackend.go GetMemoryOverhead at
    kubevirt d923fdb8, anchors §1.2 and §10.1): QemuOverhead 50Mi, the page-table term
    requests.memory/512, 8Mi per vCPU, the flat 8Mi IOThread term and 32Mi of video when a
    graphics device is attached.  The ~190Mi of virt-launcher, virtqemud and virtlogd are left
    out: they do not run in a bare qemu's cgroup."""
    return (50 * MiB + vm["ram"] // 512 + 8 * MiB * vm["vcpus"] + 8 * MiB
            + (32 * MiB if vm["graphics"] else 0))


def kubevirt_full(vm):
    """KubeVirt's whole GetMemoryOverhead: the QEMU terms plus its 190Mi of helper processes
    (virt-launcher-monitor 25, virt-launcher 100, virtlogd 25, virtqemud 40; anchors §1.2)."""
    return kubevirt_qemu(vm) + (25 + 100 + 25 + 40) * MiB


def harvester(vm):
    """Harvester >= 1.4: KubeVirt's full overhead times additional-guest-memory-overhead-ratio,
    default 1.5 (pkg/settings/settings_helper.go, anchors §2.1); no reserved memory is carved
    out of the guest when the ratio is set."""
    return kubevirt_full(vm) * 3 // 2


def ovirt(vm):
    """oVirt engine VmOverheadCalculatorImpl (anchors §7.3), x86: 64 MiB fixed + RAM/512 +
    8 MiB per vCPU + 8 MiB per iothread + the video RAM of the VM's display devices (taken at
    QEMU's device sizes, as vmmem counts them: oVirt's own video settings are not modelled)."""
    return (64 * MiB + vm["ram"] // 512 + 8 * MiB * vm["vcpus"] + 8 * MiB * vm["iothreads"]
            + vm["video_ram"])


def eve(vm):
    """EVE-OS estimatedVMMOverhead() (pkg/pillar/hypervisor/vmm_overhead.go, anchors §3.1):
    350 MiB "undefined" + 20 MiB for qemu's binaries + 3 MiB per vCPU over max(maxcpus, vcpus)
    + 2.5 % of RAM (+ 1 % of passed-through MMIO, none here)."""
    return (350 + 20) * MiB + 3 * MiB * max(vm["maxcpus"], vm["vcpus"]) + vm["ram"] * 25 // 1000


def eve_fixed(vm):
    """EVE-OS's fixed budget, 600 MiB, restored on 10.4-stable after OOM kills (PR #3505,
    anchors §3.3)."""
    return 600 * MiB


# In the order the report lists them; vmmem's own budget comes from `vmmem explain`.
METHODS = [
    ("kubevirt", "KubeVirt (QEMU terms)", kubevirt_qemu),
    ("harvester", "Harvester (KubeVirt x 1.5)", harvester),
    ("ovirt", "oVirt", ovirt),
    ("eve", "EVE-OS formula", eve),
    ("eve600", "EVE-OS fixed 600 MiB", eve_fixed),
]


def budgets(vm):
    """{method key: overhead bytes} for the peers, rounded up to 4 KiB as cgroups keep them."""
    return {key: -(-fn(vm) // 4096) * 4096 for key, _, fn in METHODS}
