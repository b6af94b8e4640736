/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/* The optional last step of vmmem-qemu before it execs qemu: a deny-list seccomp filter that
 * keeps qemu inside the envelope it was put in (no new namespaces or mounts to leave its cgroup
 * view, no cross-process access) and away from kernel attack surface it never needs.  Everything
 * else is allowed: qemu's own `-sandbox` stacks its allow-list on top.
 *
 * Sets no_new_privs first, so an unprivileged launcher may load it; as a consequence a setuid
 * helper qemu would exec (qemu-bridge-helper for `-netdev bridge`) gains no privileges.  The
 * filter binds the calling thread and everything it forks or execs, and cannot be removed: call
 * it right before execve().  @flags must be 0 (-EINVAL).  Returns 0 or -errno. */
int seccomp_filter_install(unsigned flags, GError **error);
