/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the public handles wrap.  For the programs that link the internal library (vmmem-qemu,
 * vmmemd, the tests) and reach past the public API where it has no call yet: the per-VM launch
 * policy and the libvirt domain mode. */

#include "calibrate.h"
#include "cgroup-backend.h"
#include "config.h"
#include "envelope.h"
#include "host.h"
#include "vm-spec.h"
#include "vmmem/vmmem.h"

struct vmmem_error {
    int errnum;
    char *message;
    int argv_index;
};

struct vmmem_config {
    Config *config;
};

/* Reference-counted inside, so an envelope can keep its spec for the JSON without making the
 * caller keep it alive: vmmem_spec_free() drops the caller's reference. */
struct vmmem_spec {
    gatomicrefcount ref;
    VmSpec *spec;
    HostInfo *host;
    bool local;    /* @host is this machine: its files were read, its profile applies */
    char *command; /* the qemu arguments, shell-quoted: what a host profile records */
};

/* Reference-counted too: a calibration keeps its envelope for the JSON. */
struct vmmem_envelope {
    gatomicrefcount ref;
    Envelope *envelope;
    struct vmmem_spec *spec;
};

typedef enum {
    SCOPE_PLANNED, /* vmmem_scope_new(): no cgroup yet */
    SCOPE_LIVE,    /* created or opened: the object holds the scope's lock */
    SCOPE_GONE,    /* destroyed */
} ScopeState;

struct vmmem_scope {
    CgroupScope *scope;
    ScopeState state;
    int events_fd;         /* vmmem_scope_get_events_fd(), made on demand; -1 until then */
    GPtrArray *properties; /* a systemd scope's unit properties (CgroupWrite*), else NULL */
};

#define return_val_if_fail(expr, val)                                                              \
    do {                                                                                           \
        if (G_UNLIKELY(!(expr)))                                                                   \
            return (val);                                                                          \
    } while (0)

/* Converts @error (consumed) into *reterr; returns -errno. */
int export_error(GError *error, int argv_index, vmmem_error **reterr);

struct vmmem_host {
    HostInfo *host;
    bool local;
};

struct vmmem_calibration {
    struct vmmem_envelope *envelope; /* a reference */
    GPtrArray *layout;               /* CalRamBlock*: the guest RAM to find in qemu's smaps */
    CalResult *result;
    gint64 start_us; /* monotonic time of the first sample; 0 before it */
};
