/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvmmem: memory envelopes for qemu-system-x86_64.
 *
 * The pipeline is  qemu argv -> spec -> envelope (overhead breakdown) -> scope (cgroup plan) ->
 * backend.  Everything up to and including vmmem_scope_new() is pure: it reads no cgroup and
 * writes nothing.  Only vmmem_scope_create(), _attach_pid(), _destroy(), _read_usage() and
 * vmmem_gc() touch the system.
 *
 * Conventions: every fallible function returns 0 or a negative errno.  @reterr may be NULL; when
 * it is not and the call fails, *reterr receives an error to free with vmmem_error_free(),
 * except for programming errors (a NULL object or out-parameter, an unknown flag bit), which
 * return -EINVAL and leave *reterr alone.
 * Out-parameters (ret_*) are written only on success.  All sizes are bytes.  Objects are opaque;
 * their _free() functions accept NULL and return NULL.  Strings returned by getters belong to the
 * object.  Entry points that may grow take @flags so that they can without an ABI change: pass 0
 * or the flags documented for that function; any other bit is refused with -EINVAL.
 *
 * GLib is used inside the library and aborts on out-of-memory.
 */
#ifndef VMMEM_VMMEM_H
#define VMMEM_VMMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VMMEM_COMPILATION)
#define VMMEM_PUBLIC __attribute__((visibility("default")))
#else
#define VMMEM_PUBLIC
#endif

/* "No limit": memory.high "max".  Never used for memory.max, which is always a number. */
#define VMMEM_LIMIT_MAX UINT64_MAX

typedef struct vmmem_error vmmem_error;
typedef struct vmmem_config vmmem_config;
typedef struct vmmem_spec vmmem_spec;
typedef struct vmmem_envelope vmmem_envelope;
typedef struct vmmem_scope vmmem_scope;

VMMEM_PUBLIC const char *vmmem_version(void);

/* Frees strings handed out by the library (vmmem_envelope_to_json()). */
VMMEM_PUBLIC void vmmem_free(void *p);

/* ---- errors ---- */

/* Positive errno: EINVAL malformed argv or config, ERANGE overflow (and an index past the end,
 * returned as -ERANGE without an error object), EOPNOTSUPP an option that
 * affects memory but cannot be modelled, ENOMEDIUM no usable cgroup v2 memory controller,
 * EPERM/EACCES not permitted, ENOENT parent missing, EEXIST a live scope of that name. */
VMMEM_PUBLIC int vmmem_error_get_errno(const vmmem_error *e);
/* One line, no trailing newline, no program-name prefix. */
VMMEM_PUBLIC const char *vmmem_error_get_message(const vmmem_error *e);
/* Index into the argv given to vmmem_spec_new_from_argv() of the offending argument, or -1. */
VMMEM_PUBLIC int vmmem_error_get_argv_index(const vmmem_error *e);
VMMEM_PUBLIC vmmem_error *vmmem_error_free(vmmem_error *e);

/* ---- host policy ---- */

enum {
    /* Do not consult VMMEM_CONFIG or any other environment variable.  Set it whenever the
     * caller runs with more privilege than whoever controls its environment. */
    VMMEM_CONFIG_IGNORE_ENV = 1u << 0,
    /* Do not fall back to /etc/vmmem/vmmem.conf (an explicit @path or $VMMEM_CONFIG is still
     * read; add VMMEM_CONFIG_IGNORE_ENV for built-in defaults only). */
    VMMEM_CONFIG_NO_FILE = 1u << 1
};

/* @path: a GKeyFile (docs/config.md), or NULL for $VMMEM_CONFIG, else /etc/vmmem/vmmem.conf if it
 * exists, else built-in defaults.  An explicit @path that does not exist is an error. */
VMMEM_PUBLIC int vmmem_config_new(const char *path, unsigned flags, vmmem_config **ret_config,
                                  vmmem_error **reterr);
/* Overrides one key of the [vmmem] group, as if it were in the file (e.g. "parent", "swap",
 * "high", "ratio").  The value is validated now. */
VMMEM_PUBLIC int vmmem_config_set(vmmem_config *config, const char *key, const char *value,
                                  vmmem_error **reterr);
VMMEM_PUBLIC const char *vmmem_config_get_qemu_binary(const vmmem_config *config);
VMMEM_PUBLIC vmmem_config *vmmem_config_free(vmmem_config *config);

/* ---- stage 1-2: qemu argv -> VM spec ---- */

/* @argv holds the @argc arguments that follow the program name, exactly as qemu would get them.
 * Host facts (RAM size, /dev/kvm, hugetlbfs mounts) are read once here; nothing is written. */
VMMEM_PUBLIC int vmmem_spec_new_from_argv(int argc, const char *const *argv, unsigned flags,
                                          vmmem_spec **ret_spec, vmmem_error **reterr);
/* 1 when the command line creates no guest RAM (libvirt's capability probe, -machine none,
 * -version, -help, "help" queries): such a qemu runs with no envelope at all. */
VMMEM_PUBLIC int vmmem_spec_is_probe(const vmmem_spec *spec);
/* -name guest=NAME, or NULL. */
VMMEM_PUBLIC const char *vmmem_spec_get_name(const vmmem_spec *spec);
VMMEM_PUBLIC uint64_t vmmem_spec_get_guest_ram(const vmmem_spec *spec);
VMMEM_PUBLIC uint64_t vmmem_spec_get_hugetlb_ram(const vmmem_spec *spec);
VMMEM_PUBLIC unsigned vmmem_spec_get_vcpus(const vmmem_spec *spec);
VMMEM_PUBLIC vmmem_spec *vmmem_spec_free(vmmem_spec *spec);

/* ---- stage 3-4: overhead breakdown and envelope ---- */

VMMEM_PUBLIC int vmmem_envelope_new(const vmmem_spec *spec, const vmmem_config *config,
                                    unsigned flags, vmmem_envelope **ret_envelope,
                                    vmmem_error **reterr);
/* Guest RAM charged to the memory controller. */
VMMEM_PUBLIC uint64_t vmmem_envelope_get_guest_ram(const vmmem_envelope *envelope);
/* Guest RAM on hugetlbfs: charged to the hugetlb controller, not part of memory.max. */
VMMEM_PUBLIC uint64_t vmmem_envelope_get_hugetlb_ram(const vmmem_envelope *envelope);
VMMEM_PUBLIC uint64_t vmmem_envelope_get_overhead(const vmmem_envelope *envelope);
VMMEM_PUBLIC uint64_t vmmem_envelope_get_memory_max(const vmmem_envelope *envelope);
/* VMMEM_LIMIT_MAX when memory.high is off. */
VMMEM_PUBLIC uint64_t vmmem_envelope_get_memory_high(const vmmem_envelope *envelope);
/* Bytes of swap allowed; 0 when swap is off. */
VMMEM_PUBLIC uint64_t vmmem_envelope_get_swap_max(const vmmem_envelope *envelope);
/* The overhead by component.  The components add up to vmmem_envelope_get_overhead(), except
 * when the policy's overhead-max capped it: then the last component is "policy_max" (0 bytes)
 * and the others add up to the uncapped estimate (docs/json.md). */
VMMEM_PUBLIC size_t vmmem_envelope_get_n_components(const vmmem_envelope *envelope);
VMMEM_PUBLIC int vmmem_envelope_get_component(const vmmem_envelope *envelope, size_t index,
                                              const char **ret_name, uint64_t *ret_bytes,
                                              const char **ret_source);
/* The explain JSON contract (docs/json.md).  Free *ret_json with vmmem_free(). */
VMMEM_PUBLIC int vmmem_envelope_to_json(const vmmem_envelope *envelope, unsigned flags,
                                        char **ret_json, vmmem_error **reterr);
VMMEM_PUBLIC vmmem_envelope *vmmem_envelope_free(vmmem_envelope *envelope);

/* ---- stage 5-6: cgroup scope ---- */

enum {
    /* vmmem_scope_new(): plan only; create/attach/destroy record nothing and touch nothing. */
    VMMEM_SCOPE_DRY_RUN = 1u << 0
};

/* Plans the scope: its cgroup path and the ordered list of files it will write.  @name: the
 * scope's VM name, or NULL for the spec's -name, else "pid-<getpid()>" (the pid of the caller,
 * which is qemu's own when the caller execs qemu).  Pure. */
VMMEM_PUBLIC int vmmem_scope_new(const vmmem_envelope *envelope, const vmmem_config *config,
                                 const char *name, unsigned flags, vmmem_scope **ret_scope,
                                 vmmem_error **reterr);
/* Path relative to the cgroup2 mount, e.g. "vmmem.slice/vmmem-web1.scope". */
VMMEM_PUBLIC const char *vmmem_scope_get_path(const vmmem_scope *scope);
VMMEM_PUBLIC size_t vmmem_scope_get_n_writes(const vmmem_scope *scope);
VMMEM_PUBLIC int vmmem_scope_get_write(const vmmem_scope *scope, size_t index,
                                       const char **ret_file, const char **ret_value);
/* Creates the scope, writes every planned limit and reads each back.  On any failure nothing is
 * left behind.  The scope stays locked against `vmmem gc` until it is populated by
 * vmmem_scope_attach_pid() or the object is freed. */
VMMEM_PUBLIC int vmmem_scope_create(vmmem_scope *scope, unsigned flags, vmmem_error **reterr);
/* Moves @pid (0: the caller) into the scope. */
VMMEM_PUBLIC int vmmem_scope_attach_pid(vmmem_scope *scope, pid_t pid, unsigned flags,
                                        vmmem_error **reterr);

enum {
    /* vmmem_scope_destroy(): SIGKILL everything inside first (cgroup.kill). */
    VMMEM_SCOPE_DESTROY_KILL = 1u << 0
};
/* Removes the scope.  The caller must not be inside it. */
VMMEM_PUBLIC int vmmem_scope_destroy(vmmem_scope *scope, unsigned flags, vmmem_error **reterr);
/* memory.current, memory.peak (0 where the kernel lacks it) and memory.events oom_kill. */
VMMEM_PUBLIC int vmmem_scope_read_usage(const vmmem_scope *scope, uint64_t *ret_current,
                                        uint64_t *ret_peak, uint64_t *ret_oom_kills,
                                        vmmem_error **reterr);
/* Frees the object; the cgroup itself stays. */
VMMEM_PUBLIC vmmem_scope *vmmem_scope_free(vmmem_scope *scope);

/* Removes every empty vmmem scope under the configured parent. */
VMMEM_PUBLIC int vmmem_gc(const vmmem_config *config, unsigned flags, unsigned *ret_removed,
                          vmmem_error **reterr);

#define VMMEM_DEFINE_POINTER_CLEANUP(type, func)                                                   \
    static __inline__ void func##p(type **p)                                                       \
    {                                                                                              \
        if (*p)                                                                                    \
            func(*p);                                                                              \
    }
VMMEM_DEFINE_POINTER_CLEANUP(vmmem_error, vmmem_error_free)
VMMEM_DEFINE_POINTER_CLEANUP(vmmem_config, vmmem_config_free)
VMMEM_DEFINE_POINTER_CLEANUP(vmmem_spec, vmmem_spec_free)
VMMEM_DEFINE_POINTER_CLEANUP(vmmem_envelope, vmmem_envelope_free)
VMMEM_DEFINE_POINTER_CLEANUP(vmmem_scope, vmmem_scope_free)

#ifdef __cplusplus
}
#endif

#endif
