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

/* Pure.  The machine name libvirt's qemu driver gives domain @id called @name (libvirt's
 * virDomainDriverGenerateMachineName(): "qemu-ID-" + the name's hostname characters, runs of '.'
 * and '-' kept only after one, cut at 64 bytes, no trailing '.' or '-'). */
char *libvirt_machine_name(unsigned id, const char *name);

/* The [vm NAME] policy of a domain is keyed by its name, and argv's "-name guest=" is written by
 * the domain XML: it may claim another VM's.  The machine name in the cgroup path is libvirt's
 * own.  0 when @argv_name is the domain's own name as far as that machine name can tell; else
 * -EPERM with a line naming both.  Two names differing only in characters libvirt drops from
 * machine names ("db_1", "db1") cannot be told apart this way (docs/libvirt.md). */
int libvirt_domain_check_name(const LibvirtDomain *domain, const char *argv_name, GError **error);

LibvirtDomain *libvirt_domain_free(LibvirtDomain *domain);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LibvirtDomain, libvirt_domain_free)
