/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "envelope.h"

/* Stage 5: what the backend will do, as data.  Pure. */

typedef struct {
    char *file;  /* "memory.max" */
    char *value; /* "805306368", "max" */
    /* Written only when the file exists: memory.swap.max with swap off (no swap accounting
     * means nothing to limit).  A required write to a missing file is an error. */
    bool optional;
    /* For a cgroup someone else made (existing plans): the kernel's default for the file.  Any
     * other value there is that owner's limit (libvirt's <memtune>) and is kept, not
     * overwritten. */
    const char *unset;
} CgroupWrite;

/* Who makes the scope's cgroup and holds its limits. */
typedef enum {
    CGROUP_MANAGER_FS = 0,       /* vmmem itself, on cgroupfs */
    CGROUP_MANAGER_SYSTEMD,      /* PID 1, as a transient scope unit, over D-Bus */
    CGROUP_MANAGER_SYSTEMD_USER, /* the calling user's manager, user@UID.service */
} CgroupManager;

typedef struct {
    bool existing; /* apply to a cgroup someone else made: no parent, no scope */
    CgroupManager manager;
    /* systemd: the unit is the scope's name; its slice, and for a user manager whose.  The
     * parent is where that slice's cgroup is expected; the backend takes the unit's real
     * ControlGroup once it runs. */
    char *slice;
    uid_t uid;
    char *parent;           /* relative to the cgroup2 root, no leading '/': "vmmem.slice" */
    bool parent_is_default; /* the default parent is created when missing; a configured one
                               must exist */
    char *scope;            /* "vmmem-web1.scope" */
    char *path;             /* parent + "/" + scope */
    GPtrArray *writes;      /* CgroupWrite*, in order */
    /* Written on the parent before the scope is made, only when vmmem owns the parent (the
     * default vmmem.slice): memory.min/low = max, because a protection takes effect only as
     * far as every ancestor grants it, and a new slice grants none.  "max" passes on exactly
     * what each scope asks for, which root's protect-max bounds. */
    GPtrArray *parent_writes; /* CgroupWrite*, file "../memory.min": relative to the scope */
    /* Extended attributes of the scope's directory (CgroupWrite*, file = the attribute's name),
     * set after the limits: what the envelope was made for, which the files of the cgroup do not
     * say (the guest RAM, the overhead budget).  `vmmem status` finds envelopes by them, the
     * libvirt domains vmmemd sized included.  user.* attributes, as systemd's user.delegate:
     * cgroupfs keeps them since Linux 5.7. */
    GPtrArray *labels;
} CgroupPlan;

#define CGROUP_LABEL_VM        "user.vmmem.vm"
#define CGROUP_LABEL_GUEST_RAM "user.vmmem.guest_ram"
#define CGROUP_LABEL_OVERHEAD  "user.vmmem.overhead"

/* Scope names: "vmmem-" + escaped VM name + ".scope".  Names are refused when empty, longer than
 * 200 bytes, "." or "..", or containing '/' or control characters (< 0x20, 0x7f), or when the
 * escaped scope name would exceed NAME_MAX (255) bytes (-EINVAL).  Bytes in [A-Za-z0-9:_.-] pass
 * through ('-' too: unlike systemd we have no slice separator to protect); every other byte, '\'
 * included, and a leading '.' (a hidden directory) are written as lowercase \xNN, systemd's
 * unit-name escaping, so different names never map to one scope. */
int cgroup_plan_scope_name(const char *vm_name, char **ret_scope, GError **error);
/* Scope names made by vmmem: "vmmem-*.scope". */
bool cgroup_scope_name_is_ours(const char *name);
/* Parent paths: relative, components separated by '/', none empty, "." or "..", no control
 * characters (-EINVAL). */
int cgroup_plan_check_parent(const char *parent, GError **error);

/* @vm_name: the scope's name (already chosen: spec name, --name, or "pid-N"). */
int cgroup_plan_new(const Envelope *envelope, const Config *config, const char *vm_name,
                    CgroupPlan **ret_plan, GError **error);
/* The calibration scope (calibrate.c): memory.max = guest RAM + max(4 x overhead, 1 GiB),
 * memory.high max, memory.swap.max 0 (swap would hide memory from the measure),
 * memory.oom.group 1, no memory.low or memory.min, whatever the policy says.  -ERANGE when that
 * memory.max does not fit in 64 bits. */
int cgroup_plan_new_calibrate(const Envelope *envelope, const Config *config, const char *vm_name,
                              CgroupPlan **ret_plan, GError **error);
/* The envelope on an existing cgroup (a libvirt domain cgroup), @path relative to the cgroup2
 * root and checked like a parent; @vm_name (may be NULL) labels it.  Nothing is created or moved;
 * each write carries its kernel default in .unset so that a limit already set there is kept. */
int cgroup_plan_new_existing(const Envelope *envelope, const char *path, const char *vm_name,
                             CgroupPlan **ret_plan, GError **error);
/* An existing scope of vmmem's, to reopen: @name is a VM name (the scope sits under the
 * config's parent) or, with @is_path, "PARENT/vmmem-NAME.scope" relative to the cgroup2 root.
 * No writes. */
int cgroup_plan_new_open(const Config *config, const char *name, bool is_path,
                         CgroupPlan **ret_plan, GError **error);
/* New limits for the live scope of @current: the same writes as a new scope's, plus memory.min
 * and memory.low set back to 0 when the new envelope has none. */
int cgroup_plan_new_update(const Envelope *envelope, const CgroupPlan *current,
                           CgroupPlan **ret_plan, GError **error);
/* Hands the scope of @plan (a new one, or one to open) to systemd: the unit is @plan->scope
 * in @slice (a slice unit name, checked: -EINVAL) of the system manager, or of @uid's user
 * manager.  No writes on a parent then (systemd owns the slice). */
int cgroup_plan_use_systemd(CgroupPlan *plan, CgroupManager manager, const char *slice, uid_t uid,
                            GError **error);
/* Slice unit names: "[A-Za-z0-9:_.]" words joined by single '-', ending ".slice", at most 255
 * bytes; the root slice "-.slice" is refused (-EINVAL). */
int cgroup_plan_check_slice(const char *slice, GError **error);
/* The properties of the transient scope (StartTransientUnit), in order: CgroupWrite with file =
 * the property, value = its text ("yes", "machine.slice", "805306368", "infinity"). */
GPtrArray *cgroup_plan_systemd_properties(const CgroupPlan *plan);
/* Whether systemd writes @file (memory.max ...) from a property of the unit; the others
 * (memory.oom.group) are written into the delegated scope. */
bool cgroup_plan_file_is_property(const char *file);
const char *cgroup_manager_name(CgroupManager manager);
/* The labels of a systemd scope's @plan, for the unit's cgroup at @path (relative to the cgroup2
 * mount), without writes: systemd holds the limits. */
CgroupPlan *cgroup_plan_new_labels(const CgroupPlan *plan, const char *path);
/* The delegated scope's leaf that holds the VM's processes, with the writes that are no
 * property (memory.oom.group): "vm". */
#define CGROUP_SYSTEMD_LEAF "vm"
CgroupPlan *cgroup_plan_free(CgroupPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CgroupPlan, cgroup_plan_free)
