/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* vmmem-qemu <-> vmmemd, over a SOCK_SEQPACKET UNIX socket (docs/libvirt.md).  One request, one
 * reply, then vmmemd closes.  The request carries nothing the daemon acts on: it takes the peer
 * from SO_PEERCRED and reads that process's cgroup, command line and environment from /proc
 * itself, so there is no field for a hostile requester to fill in. */

#define VMMEMD_MAGIC   0x444d4d56u /* "VMMD" */
#define VMMEMD_VERSION 1u

typedef struct {
    uint32_t magic;
    uint32_t version;
    uint32_t flags; /* 0 */
} VmmemdRequest;

typedef struct {
    uint32_t magic;
    int32_t status;     /* 0 or -errno */
    char message[1024]; /* one line: the envelope applied, or why not */
    char warning[512];  /* one line or empty: a libvirt limit kept below vmmem's figure */
} VmmemdReply;

/* The launcher gives up after this long: libvirt waits on the monitor socket meanwhile. */
#define VMMEMD_TIMEOUT_MS 10000
