# SPDX-License-Identifier: LGPL-2.1-or-later
"""The VM configurations of the accuracy matrix (docs/accuracy.md).

A configuration says what the VM is (RAM, vCPUs, devices) and what its guest does (the
workload guest of tests/vm/toucher.c: touch all RAM, write and read each disk, send and receive
network traffic, redraw the display, online hot-added vCPUs).  qemu_argv() turns it into the
qemu-system-x86_64 command line that both `vmmem calibrate` and every method's envelope run.
"""

GiB_MiB = 1024

# name -> config.  Keys (all optional but ram/smp):
#   accel       "kvm" (default) or "tcg"
#   ram         guest RAM in MiB
#   smp         vCPUs started; maxcpus: possible vCPUs (hot-added during the run)
#   prealloc    -mem-prealloc
#   hugepages   guest RAM on hugetlbfs (2 MiB pages), as libvirt's <hugepages/> does
#   numa        split RAM over this many memory-backend-ram NUMA nodes
#   memfd       guest RAM on memory-backend-memfd,share=on (vhost-user style)
#   disks       [(format, virtual GiB, cache, bus)]; bus "blk" (virtio-blk) or "scsi"
#   iothreads   number of iothreads; disks are spread over them
#   nics        ["user"] or ["tap"] / ["tap:Q"] (tap + vhost-net, Q queues)
#   display     "vnc-vga", "vnc-virtio-gpu" or "spice-qxl", always with a client attached
#   tb          TCG translation cache size in MiB (-accel tcg,tb-size=)
#   net_mb      MiB the guest sends and receives over each run (default 16 over user
#               networking, 64 over a tap)
#   fb_frames   full-screen redraws (default 200 with a display)
#   disk_mb     MiB written and read back per disk (default 256, more for a disk over 128 GiB, spread over the whole disk)
#   code_kb     KiB of distinct guest code run (TCG: fills the translation cache)
#   reduced     part of the reduced matrix run by the test suite (vm-accuracy)
CONFIGS = {
    # --- KVM ---
    "kvm-256m": {"ram": 256, "smp": 1, "reduced": True},
    "kvm-512m-prealloc": {"ram": 512, "smp": 1, "prealloc": True},
    "kvm-1g-2cpu-qcow2-nic": {"ram": 1024, "smp": 2, "disks": [("qcow2", 2, "none", "blk")],
                              "nics": ["user"], "reduced": True},
    "kvm-2g-4cpu-server": {"ram": 2048, "smp": 4,
                           "disks": [("qcow2", 2, "writeback", "blk"), ("raw", 1, "none", "blk")],
                           "nics": ["user"], "iothreads": 1},
    "kvm-3g-2cpu-prealloc": {"ram": 3072, "smp": 2, "prealloc": True},
    "kvm-3g-8cpu": {"ram": 3072, "smp": 8},
    "kvm-1g-vnc-vga": {"ram": 1024, "smp": 2, "display": "vnc-vga", "reduced": True},
    "kvm-1g-spice-qxl": {"ram": 1024, "smp": 2, "display": "spice-qxl"},
    "kvm-1g-vnc-virtio-gpu": {"ram": 1024, "smp": 2, "display": "vnc-virtio-gpu"},
    "kvm-1g-4iothreads-4disks": {"ram": 1024, "smp": 2, "iothreads": 4,
                                 "disks": [("qcow2", 1, "none", "blk")] * 2
                                 + [("raw", 1, "none", "blk")] * 2},
    "kvm-1g-hugepages": {"ram": 1024, "smp": 2, "hugepages": True,
                         "disks": [("qcow2", 1, "none", "blk")]},
    "kvm-512m-maxcpus8": {"ram": 512, "smp": 1, "maxcpus": 8},
    "kvm-1g-tap-vhost": {"ram": 1024, "smp": 2, "nics": ["tap"]},
    "kvm-2g-4cpu-tap-mq4": {"ram": 2048, "smp": 4, "nics": ["tap:4"]},
    "kvm-1g-4nics-user": {"ram": 1024, "smp": 2, "nics": ["user"] * 4, "net_mb": 16},
    "kvm-1g-scsi-writeback": {"ram": 1024, "smp": 2,
                              "disks": [("qcow2", 2, "writeback", "scsi"),
                                        ("raw", 1, "writeback", "scsi")]},
    "kvm-2g-desktop": {"ram": 2048, "smp": 4, "display": "spice-qxl",
                       "disks": [("qcow2", 2, "writeback", "blk")], "nics": ["user"]},
    "kvm-2g-numa2": {"ram": 2048, "smp": 2, "numa": 2},
    # A database VM: two 256 GiB qcow2 data disks its file systems write all over, so qemu
    # caches all of both images' L2 tables (32 MiB each).  The KVM OOM demonstration (oom-kvm).
    "kvm-2g-db-2x256g-qcow2": {"ram": 2048, "smp": 2,
                               "disks": [("qcow2", 256, "none", "blk")] * 2},
    # The same with four such disks: qemu caches 128 MiB of L2 tables.
    "kvm-2g-db-4x256g-qcow2": {"ram": 2048, "smp": 2,
                               "disks": [("qcow2", 256, "none", "blk")] * 4},
    "kvm-1g-memfd": {"ram": 1024, "smp": 2, "memfd": True},
    # --- TCG: the translation cache is the subject ---
    "tcg-256m": {"accel": "tcg", "ram": 256, "smp": 1, "code_kb": 1536, "reduced": True},
    "tcg-512m-tb64": {"accel": "tcg", "ram": 512, "smp": 1, "tb": 64, "code_kb": 1536},
    "tcg-512m-2cpu-qcow2-nic": {"accel": "tcg", "ram": 512, "smp": 2, "code_kb": 1536,
                                "disks": [("qcow2", 1, "none", "blk")], "nics": ["user"],
                                "net_mb": 16, "disk_mb": 256},
    "tcg-512m-vnc-vga": {"accel": "tcg", "ram": 512, "smp": 1, "display": "vnc-vga",
                         "code_kb": 1536, "fb_frames": 50},
}


# The measurements behind the model's terms (docs/measurements.md, bench/accuracy/measure.py):
# one thing changed at a time from a 256 MiB, 1-vCPU KVM guest (512 MiB for devices), each run
# several times.  Same keys as CONFIGS, plus:
#   thp         "never" or "madvise": transparent huge pages in the test VM (Debian's default,
#               and the test VM's, is "always")
#   disk_stride the 1 MiB blocks the guest writes this many MiB apart (toucher.disk_stride_mb;
#               default: 256 blocks over the largest disk)
#   client      False: a display server with no client attached
#   hotplug     False: maxcpus possible but none hot-added
MEASUREMENTS = {
    "m-base": {"ram": 256, "smp": 1},
    "m-base-prealloc": {"ram": 256, "smp": 1, "prealloc": True},
    "m-base-thp-madvise": {"ram": 256, "smp": 1, "thp": "madvise"},
    "m-base-thp-never": {"ram": 256, "smp": 1, "thp": "never"},
    "m-smp4-thp-madvise": {"ram": 256, "smp": 4, "thp": "madvise"},
    "m-smp2": {"ram": 256, "smp": 2},
    "m-smp4": {"ram": 256, "smp": 4},
    "m-smp8": {"ram": 256, "smp": 8},
    "m-maxcpus8-idle": {"ram": 256, "smp": 1, "maxcpus": 8, "hotplug": False},
    "m-maxcpus4-hotplug": {"ram": 256, "smp": 1, "maxcpus": 4},
    "m-ram1g": {"ram": 1024, "smp": 1},
    "m-ram2g": {"ram": 2048, "smp": 1},
    "m-ram3g": {"ram": 3072, "smp": 1},
    "m-ram1g-nothp": {"ram": 1024, "smp": 1, "thp": "never"},
    "m-ram3g-nothp": {"ram": 3072, "smp": 1, "thp": "never"},
    "m-ram3g-nothp-prealloc": {"ram": 3072, "smp": 1, "thp": "never", "prealloc": True},
    "m-raw-none": {"ram": 512, "smp": 1, "disks": [("raw", 2, "none", "blk")]},
    "m-raw-writeback": {"ram": 512, "smp": 1, "disks": [("raw", 2, "writeback", "blk")]},
    "m-raw-writethrough": {"ram": 512, "smp": 1, "disks": [("raw", 2, "writethrough", "blk")]},
    "m-raw-directsync": {"ram": 512, "smp": 1, "disks": [("raw", 2, "directsync", "blk")]},
    "m-raw-unsafe": {"ram": 512, "smp": 1, "disks": [("raw", 2, "unsafe", "blk")]},
    "m-qcow2-none": {"ram": 512, "smp": 1, "disks": [("qcow2", 2, "none", "blk")]},
    "m-qcow2-writeback": {"ram": 512, "smp": 1, "disks": [("qcow2", 2, "writeback", "blk")]},
    "m-qcow2-64g-spread": {"ram": 512, "smp": 1, "disks": [("qcow2", 64, "none", "blk")]},
    "m-qcow2-256g-spread": {"ram": 512, "smp": 1, "disks": [("qcow2", 256, "none", "blk")]},
    "m-scsi-raw": {"ram": 512, "smp": 1, "disks": [("raw", 2, "none", "scsi")]},
    "m-4disks-raw": {"ram": 512, "smp": 1, "disks": [("raw", 1, "none", "blk")] * 4},
    "m-iothread-disk": {"ram": 512, "smp": 1, "iothreads": 1,
                        "disks": [("raw", 2, "none", "blk")]},
    "m-iothreads4": {"ram": 512, "smp": 1, "iothreads": 4},
    "m-nic-user": {"ram": 512, "smp": 1, "nics": ["user"]},
    "m-nic-tap": {"ram": 512, "smp": 1, "nics": ["tap"]},
    "m-nic-tap-mq4": {"ram": 512, "smp": 4, "nics": ["tap:4"]},
    "m-nic-user4": {"ram": 512, "smp": 1, "nics": ["user"] * 4, "net_mb": 16},
    "m-vga-vnc": {"ram": 512, "smp": 1, "display": "vnc-vga"},
    "m-vga-vnc-noclient": {"ram": 512, "smp": 1, "display": "vnc-vga", "client": False},
    "m-qxl-spice": {"ram": 512, "smp": 1, "display": "spice-qxl"},
    "m-virtio-gpu-vnc": {"ram": 512, "smp": 1, "display": "vnc-virtio-gpu"},
    "m-tcg-base": {"accel": "tcg", "ram": 256, "smp": 1, "code_kb": 1536},
    "m-tcg-smp2": {"accel": "tcg", "ram": 256, "smp": 2, "code_kb": 1536},
    "m-tcg-ram1g": {"accel": "tcg", "ram": 1024, "smp": 1, "code_kb": 1536},
}


def find(name):
    """The configuration or measurement of that name, or None."""
    return CONFIGS.get(name) or MEASUREMENTS.get(name)


def vm_resources(cfg):
    """(MiB, vCPUs) the test VM needs to host this guest: its RAM plus room for qemu, page
    cache and the test VM's own needs; at least as many vCPUs as the guest may run (a nested
    KVM guest with more vCPUs than its host sometimes resets early in boot: testbed.md)."""
    ram = cfg["ram"]
    need = ram + 2048 + (ram if cfg.get("hugepages") else 0)
    cpus = max(2, cfg.get("maxcpus", cfg["smp"]))
    return max(need, 3072), cpus
