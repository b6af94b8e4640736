/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* vmmem-qemu <-> vmmemd, over a SOCK_SEQPACKET UNIX socket (docs/libvirt.md).
 *
 *   launcher                     vmmemd
 *   connect            ->
 *                      <-        hello          (or at once a reply: refused)
 *   request            ->                       (with the kernel's SCM_CREDENTIALS)
 *                      <-        reply, close
 *
 * The request carries nothing the daemon acts on: it takes the peer from SO_PEERCRED and reads
 * that process's cgroup, command line and environment from /proc itself.  The hello orders the
 * exchange: vmmemd holds a pidfd of the peer before it says hello, so the credentials the kernel
 * attaches to the request prove that the process behind the pidfd is the one that asked (a pid
 * number alone can be reused; vmmemd.c). */

#define VMMEMD_MAGIC       0x444d4d56u /* "VMMD": request and reply */
#define VMMEMD_HELLO_MAGIC 0x484d4d56u /* "VMMH" */
#define VMMEMD_VERSION     2u

typedef struct {
    uint32_t magic; /* VMMEMD_HELLO_MAGIC */
    uint32_t version;
} VmmemdHello;

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
