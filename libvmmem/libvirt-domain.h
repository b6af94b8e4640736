/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* libvirt's qemu driver starts the emulator already placed in its domain cgroup, in a threaded
 * child "emulator" that has no memory files (docs/libvirt.md):
 *
 *   without systemd  machine[/P.partition...]/qemu-N-NAME.libvirt-qemu[/emulator]
 *   with systemd
 * machine.slice[/machine-P.slice...]/machine-qemu\x2dN\x2dNAME.scope/libvirt[/emulator]
 *
 * The envelope goes on the domain cgroup, which covers qemu and every thread libvirt later moves
 * into vcpuN/iothreadN.  Nothing is ever created or moved in that tree. */

typedef struct {
    char *domain;  /* relative to the cgroup2 root: "machine/qemu-1-t1.libvirt-qemu" */
    char *machine; /* libvirt's machine name: "qemu-1-t1" */
    bool systemd;
    bool in_emulator; /* the process sits in domain/emulator, not in the domain itself */
} LibvirtDomain;

/* Pure.  @cgroup: a cgroup v2 path as in /proc/PID/cgroup, with or without the leading '/'.
 * Returns 1 and *@ret_domain when the path is a libvirt qemu domain cgroup (or its emulator
 * child) under the default partitions "machine" or "machine.slice"; 0 when it is not one
 * (*@ret_domain NULL).  Never fails otherwise. */
int libvirt_domain_from_cgroup(const char *cgroup, LibvirtDomain **ret_domain);

/* Reads the cgroupfs under @root_fd (the cgroup2 mount) to confirm what the path suggests: the
 * domain cgroup exists and has memory.max, the emulator child (when @domain->in_emulator) is
 * threaded, and with @require_root_owned the domain directory belongs to root, as libvirt makes
 * it (a delegated subtree that imitates the names belongs to its user).  -ENOENT, -ENOMEDIUM,
 * -EPERM, one line each. */
int libvirt_domain_confirm(int root_fd, const LibvirtDomain *domain, bool require_root_owned,
                           GError **error);

LibvirtDomain *libvirt_domain_free(LibvirtDomain *domain);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LibvirtDomain, libvirt_domain_free)
