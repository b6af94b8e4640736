/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvmmem: memory envelopes for qemu-system-x86_64.
 *
 * The pipeline is  qemu argv -> spec -> envelope (overhead breakdown) -> scope (cgroup plan) ->
 * backend.  Everything up to and including vmmem_scope_new() is pure: it reads no cgroup and
 * writes nothing.  Only the vmmem_scope functions after vmmem_scope_get_write() (create, open,
 * attach, update, destroy, the reads, the fds), vmmem_gc() and vmmem_calibration_sample() and
 * _finish() touch the system.
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
 *
 * Threads: the library keeps no global state of its own (libcgroup's is set up once, under a
 * lock), so any function may be called from any thread.  An object may be used by one thread at
 * a time; configs, specs and envelopes are not changed after they are made, and may be read by
 * several threads at once.  Different scopes never wait on each other (each has its own lock).
 * What blocks: vmmem_scope_create() waits for the parent's lock only while another scope's
 * directory is made or `vmmem gc` lists the parent (milliseconds; it gives up with -ETIMEDOUT
 * after 30 s); vmmem_scope_destroy() with VMMEM_SCOPE_DESTROY_KILL waits up to 10 s for the
 * killed processes to go; everything else does a bounded number of cgroupfs and /proc reads and
 * writes, and never waits for another process.
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
typedef struct vmmem_calibration vmmem_calibration;
typedef struct vmmem_host vmmem_host;
typedef struct vmmem_status vmmem_status;

/* The version of this header, at compile time; vmmem_version() is the library's, at run time
 * ("0.5.0").  The minor number follows the symbol version nodes: what the header marks "since
 * 0.4" is there when VMMEM_CHECK_VERSION(0, 4, 0). */
#define VMMEM_VERSION_MAJOR 0
#define VMMEM_VERSION_MINOR 6
#define VMMEM_VERSION_MICRO 0
#define VMMEM_CHECK_VERSION(major, minor, micro)                                                   \
    (VMMEM_VERSION_MAJOR > (major) ||                                                              \
     (VMMEM_VERSION_MAJOR == (major) && VMMEM_VERSION_MINOR > (minor)) ||                          \
     (VMMEM_VERSION_MAJOR == (major) && VMMEM_VERSION_MINOR == (minor) &&                          \
      VMMEM_VERSION_MICRO >= (micro)))

VMMEM_PUBLIC const char *vmmem_version(void);
/* @bytes for people, the way every vmmem message and `vmmem explain` print sizes: "512 MiB",
 * "35.25 MiB" (binary units, at most two decimals, rounded).  Free with vmmem_free().  Since
 * 0.4. */
VMMEM_PUBLIC char *vmmem_format_size(uint64_t bytes);
/* A size as qemu reads one (qemu_strtosz()): "4G", "1.5T", "512" (times @default_unit: 1 for
 * bytes, 1048576 for MiB as -m takes them).  -EINVAL: not a size; -ERANGE: past 64 bits.
 * Since 0.5. */
VMMEM_PUBLIC int vmmem_parse_size(const char *text, uint64_t default_unit, uint64_t *ret_bytes);

/* Frees strings handed out by the library (vmmem_envelope_to_json(),
 * vmmem_calibration_to_json()). */
VMMEM_PUBLIC void vmmem_free(void *p);

/* ---- errors ---- */

/* Positive errno: EINVAL malformed argv or config, ERANGE overflow (and an index past the end,
 * returned as -ERANGE without an error object), EOPNOTSUPP an option that
 * affects memory but cannot be modelled, ENOMEDIUM no usable cgroup v2 memory controller,
 * EPERM/EACCES not permitted, ENOENT parent missing, EEXIST a live scope of that name;
 * calibration: ENODATA no sample found the guest RAM, ENOSPC the VM reached memory.max. */
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
/* The policy that applies to VM @vm_name: key @key of its [vm NAME] group where that sets it,
 * else of [vmmem] (@vm_name NULL: [vmmem]'s).  *@ret_value (free with vmmem_free()) is in the
 * form vmmem_config_set() takes back: sizes in bytes ("overhead-min", "overhead-max", "swap",
 * "protect-max"), "ratio" and "high" as decimals ("off": no memory.high), "protect" off|low|min,
 * "policy" strict|fail-open, "seccomp" on|off, "profile" a path or none, "domain-env" none or a
 * comma list; "qemu", "parent" and "helper-socket" as set.  An unknown key: -ENOENT.  (since
 * 0.4) */
VMMEM_PUBLIC int vmmem_config_get(const vmmem_config *config, const char *vm_name, const char *key,
                                  char **ret_value, vmmem_error **reterr);
VMMEM_PUBLIC vmmem_config *vmmem_config_free(vmmem_config *config);

/* ---- the host a plan is for (since 0.4) ---- */

/* The facts about a host that the stages up to the plan use: its RAM (qemu sizes TCG's cache
 * from it), kernel release, transparent huge page mode, /dev/kvm, hugetlbfs mounts and
 * hugetlb memcg accounting (docs/json.md, "The host JSON").  Schedulers plan on one machine for
 * another: `vmmem host --json` on the target, vmmem_host_new_from_json() here. */
/* This machine's facts, read now (/proc, /sys, uname, /dev/kvm). */
VMMEM_PUBLIC int vmmem_host_new_local(unsigned flags, vmmem_host **ret_host, vmmem_error **reterr);
/* Another machine's, from its host JSON.  -EINVAL: not that JSON, with a message. */
VMMEM_PUBLIC int vmmem_host_new_from_json(const char *json, unsigned flags, vmmem_host **ret_host,
                                          vmmem_error **reterr);
/* The host JSON.  Free *ret_json with vmmem_free(). */
VMMEM_PUBLIC int vmmem_host_to_json(const vmmem_host *host, unsigned flags, char **ret_json,
                                    vmmem_error **reterr);
VMMEM_PUBLIC uint64_t vmmem_host_get_physmem(const vmmem_host *host);
VMMEM_PUBLIC vmmem_host *vmmem_host_free(vmmem_host *host);
/* vmmem_spec_new_from_argv() for @host (NULL: this machine, read now).  For a host from JSON,
 * the files the command line names (-kernel, disk images) are not read, since they are the other
 * machine's: the model budgets what any such file may cost; and this machine's host profile is
 * not used.  The spec keeps a copy of @host's facts: the explain JSON names them. */
VMMEM_PUBLIC int vmmem_spec_new_for_host(int argc, const char *const *argv, const vmmem_host *host,
                                         unsigned flags, vmmem_spec **ret_spec,
                                         vmmem_error **reterr);

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
/* memory.min and memory.low (policy protect = min|low): the guest RAM rounded up to a page, at
 * most protect-max; 0 when not set.  (ABI node LIBVMMEM_0.3.) */
VMMEM_PUBLIC uint64_t vmmem_envelope_get_memory_min(const vmmem_envelope *envelope);
VMMEM_PUBLIC uint64_t vmmem_envelope_get_memory_low(const vmmem_envelope *envelope);
/* 1 when the scope gets memory.oom.group = 1 (the VM dies whole); 0 for a probe. */
VMMEM_PUBLIC int vmmem_envelope_get_oom_group(const vmmem_envelope *envelope);
/* The overhead by component.  The components add up to vmmem_envelope_get_overhead(), except
 * when the policy's overhead-max capped it: then the last component is "policy_max" (0 bytes)
 * and the others add up to the uncapped estimate (docs/json.md). */
VMMEM_PUBLIC size_t vmmem_envelope_get_n_components(const vmmem_envelope *envelope);
VMMEM_PUBLIC int vmmem_envelope_get_component(const vmmem_envelope *envelope, size_t index,
                                              const char **ret_name, uint64_t *ret_bytes,
                                              const char **ret_source);
/* Lines for the caller to show, one each (no program name, no newline): a host profile that
 * exists but could not be used (measured with another qemu or kernel, unreadable), a hand-
 * written profile value that was not taken.  The envelope stands either way: built-in terms
 * replace what was not used.  Since 0.2. */
VMMEM_PUBLIC size_t vmmem_envelope_get_n_warnings(const vmmem_envelope *envelope);
/* NULL past the end. */
VMMEM_PUBLIC const char *vmmem_envelope_get_warning(const vmmem_envelope *envelope, size_t index);
/* What component @index's constant rests on: "measured" (in vmmem's repository), "qemu"
 * (QEMU's source and defaults), "public" (a public figure), "profile" (this host's profile),
 * "policy" (the host policy).  @ret_basis may be NULL; -ERANGE past the end.  Since 0.2. */
VMMEM_PUBLIC int vmmem_envelope_get_component_basis(const vmmem_envelope *envelope, size_t index,
                                                    const char **ret_basis);
/* The explain JSON contract (docs/json.md).  Free *ret_json with vmmem_free(). */
VMMEM_PUBLIC int vmmem_envelope_to_json(const vmmem_envelope *envelope, unsigned flags,
                                        char **ret_json, vmmem_error **reterr);
VMMEM_PUBLIC vmmem_envelope *vmmem_envelope_free(vmmem_envelope *envelope);

/* ---- stage 5-6: cgroup scope ---- */

enum {
    /* vmmem_scope_new(): plan only; create/attach/destroy record nothing and touch nothing. */
    VMMEM_SCOPE_DRY_RUN = 1u << 0,
    /* vmmem_scope_new(): the scope for a calibration (vmmem_calibration_new()), whose limits
     * leave the VM room to show what it really uses: memory.max = guest RAM + max(4 x the
     * envelope's overhead, 1 GiB), memory.high max, memory.swap.max 0 (swap would hide memory),
     * memory.oom.group 1, no memory.low or memory.min, whatever the policy says.  Combines with
     * VMMEM_SCOPE_DRY_RUN.  Since 0.2. */
    VMMEM_SCOPE_CALIBRATE = 1u << 1,
    /* vmmem_scope_new(): a VM with no name gets "pid-<getpid()>", for a caller that execs qemu
     * in place (vmmem-qemu): that pid is qemu's for the VM's whole life.  Since 0.4. */
    VMMEM_SCOPE_NAME_PID = 1u << 2,
    /* vmmem_scope_open(): @name is a path relative to the cgroup2 mount,
     * "PARENT/vmmem-NAME.scope", not a VM name.  Since 0.4. */
    VMMEM_SCOPE_OPEN_PATH = 1u << 3,
    /* vmmem_scope_new(), vmmem_scope_open(), vmmem_gc(): who makes the scope, over the config's
     * "backend" (auto by default: systemd where it is PID 1, else cgroupfs).  CGROUPFS: vmmem
     * writes cgroupfs itself, under the config's parent.  SYSTEMD: a transient scope unit
     * "vmmem-NAME.scope" in the config's slice (machine.slice), made over D-Bus by the system
     * manager, or by the caller's user manager when the caller is not root (no privileges
     * needed; its memory controller must be delegated).  systemd then holds the limits
     * (MemoryMax=, MemoryHigh=, MemorySwapMax=, MemoryMin=, MemoryLow=), across daemon-reload;
     * vmmem writes memory.oom.group in the delegated scope's leaf vm/.  A scope unit needs a
     * process to exist: vmmem_scope_create() checks (systemd reachable, memory delegated) and
     * vmmem_scope_attach_pid() starts the unit with that process (-EEXIST: a unit of that name
     * exists; systemd refuses the clash atomically), applies every limit and reads each back. Until
     * then the scope has no cgroup: vmmem_scope_get_fd() and the reads fail with -EBADF (spawn the
     * child stopped, attach it, then let it run).  systemd removes the unit and its cgroup with
     * the last process: read usage and events while the VM runs.  One of the two at most.  Since
     * 0.6. */
    VMMEM_SCOPE_BACKEND_CGROUPFS = 1u << 4,
    VMMEM_SCOPE_BACKEND_SYSTEMD = 1u << 5
};

/* Plans the scope: its cgroup path and the ordered list of files it will write.  @name: the
 * scope's VM name, or NULL for the spec's -name; a VM with neither gets a name of its own,
 * "vm-" and 16 random hex digits (with VMMEM_SCOPE_NAME_PID: "pid-<getpid()>"), so that a
 * manager's unnamed VMs never share a scope.  Pure. */
VMMEM_PUBLIC int vmmem_scope_new(const vmmem_envelope *envelope, const vmmem_config *config,
                                 const char *name, unsigned flags, vmmem_scope **ret_scope,
                                 vmmem_error **reterr);
/* Path relative to the cgroup2 mount, e.g. "vmmem.slice/vmmem-web1.scope". */
VMMEM_PUBLIC const char *vmmem_scope_get_path(const vmmem_scope *scope);
/* The files the scope's plan writes, in order, each relative to the scope: "memory.max", or
 * "../memory.min" for a write on the parent (vmmem's own vmmem.slice, which must pass a
 * protection on for it to take effect). */
VMMEM_PUBLIC size_t vmmem_scope_get_n_writes(const vmmem_scope *scope);
VMMEM_PUBLIC int vmmem_scope_get_write(const vmmem_scope *scope, size_t index,
                                       const char **ret_file, const char **ret_value);
/* Creates the scope, writes every planned limit and reads each back (the systemd backend does
 * that in vmmem_scope_attach_pid(): see VMMEM_SCOPE_BACKEND_SYSTEMD).  On any failure nothing is
 * left behind and the object may try again.  From here until vmmem_scope_destroy() or
 * vmmem_scope_free() the object holds the scope's lock (an flock on its directory,
 * close-on-exec): `vmmem gc` leaves the scope alone even while it is empty, and a create or
 * open of the same scope elsewhere fails; creates of other scopes do not wait for it.  A second
 * create on the same object: -EALREADY. */
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
/* Frees the object and lets go of the scope's lock; the cgroup itself stays. */
VMMEM_PUBLIC vmmem_scope *vmmem_scope_free(vmmem_scope *scope);

/* ---- backends (since 0.6) ---- */

/* Who makes the scope: "cgroupfs", "systemd" (the system manager) or "systemd-user" (the
 * caller's user manager). */
VMMEM_PUBLIC const char *vmmem_scope_get_backend(const vmmem_scope *scope);
/* The systemd unit, "vmmem-web1.scope"; NULL for cgroupfs. */
VMMEM_PUBLIC const char *vmmem_scope_get_unit(const vmmem_scope *scope);
/* The unit's properties as StartTransientUnit gets them (0 of them for cgroupfs, and for an
 * opened scope until vmmem_scope_update()): "Slice" = "machine.slice", "MemoryMax" =
 * "805306368", "MemoryHigh" = "infinity", ...  The PIDs property is the attached process. */
VMMEM_PUBLIC size_t vmmem_scope_get_n_properties(const vmmem_scope *scope);
VMMEM_PUBLIC int vmmem_scope_get_property(const vmmem_scope *scope, size_t index,
                                          const char **ret_name, const char **ret_value);

/* ---- scope lifecycle for managers (since 0.4) ---- */

/* A new O_RDONLY|O_DIRECTORY|O_CLOEXEC fd on the created (or opened) scope's cgroup, the
 * caller's to close: for clone3() with CLONE_INTO_CGROUP (Go's SysProcAttr.CgroupFD), so that
 * the child starts inside the envelope and runs no library code before exec.  It does not carry
 * the scope's lock.  Under the systemd backend it is the scope's leaf vm/, where the VM's
 * processes live (the scope itself hands its controllers down and may hold none). */
VMMEM_PUBLIC int vmmem_scope_get_fd(const vmmem_scope *scope, unsigned flags, int *ret_fd,
                                    vmmem_error **reterr);
/* Reopens an existing scope of vmmem's, after a restart of the manager that made it: @name is
 * the VM name (the scope sits under @config's parent) or, with VMMEM_SCOPE_OPEN_PATH, the
 * scope's path.  The object then holds the scope's lock, like one that created it: -EBUSY
 * while another object, here or in another process, holds it (a launcher that exec'd qemu
 * holds none).  Flags: VMMEM_SCOPE_OPEN_PATH, VMMEM_SCOPE_DRY_RUN.  -ENOENT: no such scope.
 * vmmem_scope_get_n_writes() of an opened scope is 0 until vmmem_scope_update(). */
VMMEM_PUBLIC int vmmem_scope_open(const char *name, const vmmem_config *config, unsigned flags,
                                  vmmem_scope **ret_scope, vmmem_error **reterr);
/* Applies @envelope's limits to the live scope (memory hotplug, a virtio-mem resize, a new
 * policy), in the order a create writes them, and reads each back; memory.min and memory.low go
 * back to 0 when @envelope has none.  A memory.max below the scope's memory.current is refused
 * with -EBUSY and nothing written: the kernel would reclaim and OOM-kill until usage fit.  On
 * any failure the limits written so far are put back.  The scope's writes become @envelope's. */
VMMEM_PUBLIC int vmmem_scope_update(vmmem_scope *scope, const vmmem_envelope *envelope,
                                    unsigned flags, vmmem_error **reterr);

/* memory.events of the scope (cgroup-v2.rst): how often each boundary was hit.  A counter the
 * kernel lacks reads 0 (oom_group_kill: Linux 5.17). */
typedef struct {
    uint64_t low;
    uint64_t high;
    uint64_t max;
    uint64_t oom;
    uint64_t oom_kill;
    uint64_t oom_group_kill;
    uint64_t reserved[10]; /* 0: room for later counters */
} vmmem_memory_events;
/* Reads memory.events, and empties the events fd (vmmem_scope_get_events_fd()) first, so that
 * a change after the read wakes it again. */
VMMEM_PUBLIC int vmmem_scope_read_events(vmmem_scope *scope, unsigned flags,
                                         vmmem_memory_events *ret_events, vmmem_error **reterr);
/* A non-blocking fd (inotify) that polls readable when the scope's memory.events changes: a
 * manager's event loop needs no timer.  It belongs to the scope object (do not close it); read
 * the new counts with vmmem_scope_read_events(). */
VMMEM_PUBLIC int vmmem_scope_get_events_fd(vmmem_scope *scope, unsigned flags, int *ret_fd,
                                           vmmem_error **reterr);
/* One figure of the scope's memory.stat, in bytes or a count as the kernel gives it: "anon",
 * "file", "kernel", "pagetables", "sec_pagetables", "shmem", "sock", "slab", "percpu"...
 * -ENOENT when this kernel has no such key. */
VMMEM_PUBLIC int vmmem_scope_read_stat(const vmmem_scope *scope, const char *key,
                                       uint64_t *ret_value, vmmem_error **reterr);

enum {
    /* vmmem_scope_read_pressure(): the "full" line (every task stalled), not "some". */
    VMMEM_PRESSURE_FULL = 1u << 0
};
/* Pressure stall information: the share of time (%) tasks of the scope waited for memory. */
typedef struct {
    double avg10;
    double avg60;
    double avg300;
    uint64_t total_us;
} vmmem_pressure;
/* Reads memory.pressure.  -EOPNOTSUPP where the kernel keeps none (CONFIG_PSI off, or Debian's
 * default: boot with psi=1). */
VMMEM_PUBLIC int vmmem_scope_read_pressure(const vmmem_scope *scope, unsigned flags,
                                           vmmem_pressure *ret_pressure, vmmem_error **reterr);

/* ---- calibration: a running VM's real overhead (since 0.2) ---- */

/* Measures what a VM really uses beyond its guest RAM, next to what @envelope budgets for it:
 * the contract is docs/json.md, "The calibrate JSON".  Run the VM in a scope of its own (made
 * with VMMEM_SCOPE_CALIBRATE, or any scope that holds this VM only), take samples while it
 * runs, then finish.  The calibration keeps what it needs of @envelope.  Pure.  A probe
 * command line (no guest RAM) is refused with -EINVAL. */
VMMEM_PUBLIC int vmmem_calibration_new(const vmmem_envelope *envelope, unsigned flags,
                                       vmmem_calibration **ret_calibration, vmmem_error **reterr);
/* Takes one sample of @scope (created, not a dry run) and of @qemu_pid, the qemu inside it:
 * the scope's memory.current, memory.stat and cgroup.procs, and /proc/PID/smaps of every
 * process there, in which qemu's guest RAM mappings are told apart from its own memory.  Call
 * it at your own cadence (vmmem calibrate: every 100 ms); a peak between two samples is not
 * seen.  A sample that cannot find the guest RAM (qemu starting or exiting, a memory layout
 * vmmem does not recognise) does not count: it returns 0 and adds to
 * vmmem_calibration_get_n_skipped().  Fails when the scope's files cannot be read. */
VMMEM_PUBLIC int vmmem_calibration_sample(vmmem_calibration *calibration, const vmmem_scope *scope,
                                          pid_t qemu_pid, unsigned flags, vmmem_error **reterr);
/* Ends the calibration: reads memory.peak, memory.events and memory.max of @scope, which must
 * still exist (after qemu exited, before vmmem_scope_destroy()).  @qemu_status: qemu's exit
 * status, 0-255 (128 + the signal when it was killed), or -1 when unknown or still running.
 * Fails with -ENODATA when no sample found the guest RAM, and with -ENOSPC when memory.events
 * counts a max, oom or oom_kill event: figures taken under reclaim or after an OOM kill are not
 * the VM's own.  No more samples after it, whatever it returned. */
VMMEM_PUBLIC int vmmem_calibration_finish(vmmem_calibration *calibration, const vmmem_scope *scope,
                                          int qemu_status, unsigned flags, vmmem_error **reterr);
/* The getters describe the samples taken so far (0 before the first). */
/* Samples that found the guest RAM, and those that did not. */
VMMEM_PUBLIC size_t vmmem_calibration_get_n_samples(const vmmem_calibration *calibration);
VMMEM_PUBLIC size_t vmmem_calibration_get_n_skipped(const vmmem_calibration *calibration);
/* From the first sample to vmmem_calibration_finish(); 0 before it. */
VMMEM_PUBLIC uint64_t vmmem_calibration_get_duration_ms(const vmmem_calibration *calibration);
/* The largest must-fit overhead of a sample: what memory.max must hold beyond guest RAM and the
 * kernel cannot reclaim without swap (anonymous memory outside guest RAM, kernel memory,
 * socket buffers, shmem outside guest RAM).  @ret_at_ms (may be NULL): when, since the first
 * sample. */
VMMEM_PUBLIC uint64_t vmmem_calibration_get_must_fit_peak(const vmmem_calibration *calibration,
                                                          uint64_t *ret_at_ms);
/* The VM's peak overhead as measured: the larger of the must-fit peak and the largest lower
 * bound that memory.current and memory.peak give for moments between samples (a short-lived
 * allocation that no sample saw).  What an envelope's overhead has to cover. */
VMMEM_PUBLIC uint64_t vmmem_calibration_get_peak_overhead(const vmmem_calibration *calibration);
/* The must-fit overhead by part, which add up to it: "anon", "tcg_cache" (TCG's translation
 * cache), "pagetables", "sec_pagetables", "slab", "percpu", "kernel_stack", "kernel_other",
 * "sock", "shmem" (docs/json.md).
 * @ret_at_peak: in the sample of the peak; @ret_max: the part's own largest over the samples.
 * Any out-parameter may be NULL. */
VMMEM_PUBLIC size_t vmmem_calibration_get_n_parts(const vmmem_calibration *calibration);
VMMEM_PUBLIC int vmmem_calibration_get_part(const vmmem_calibration *calibration, size_t index,
                                            const char **ret_name, uint64_t *ret_at_peak,
                                            uint64_t *ret_max);
/* The largest page cache outside guest RAM (qemu's binary, buffered disk I/O): charged to
 * memory.max but reclaimable, so not part of the must-fit overhead. */
VMMEM_PUBLIC uint64_t vmmem_calibration_get_reclaimable_peak(const vmmem_calibration *calibration);
/* The most guest RAM resident (charged to memory: anonymous, shmem or page cache). */
VMMEM_PUBLIC uint64_t vmmem_calibration_get_guest_peak(const vmmem_calibration *calibration);
/* The scope's memory.peak, read by vmmem_calibration_finish(); 0 before it or where the kernel
 * lacks it (Linux < 5.19). */
VMMEM_PUBLIC uint64_t vmmem_calibration_get_memory_peak(const vmmem_calibration *calibration);
/* The calibrate JSON contract (docs/json.md).  Free *ret_json with vmmem_free(). */
VMMEM_PUBLIC int vmmem_calibration_to_json(const vmmem_calibration *calibration, unsigned flags,
                                           char **ret_json, vmmem_error **reterr);
VMMEM_PUBLIC vmmem_calibration *vmmem_calibration_free(vmmem_calibration *calibration);
/* Adds what a finished calibration of a KVM VM measured to the host profile at @path (NULL: the
 * config's `profile`, /var/lib/vmmem/profile.conf by default), fits the profile's terms again
 * (qemu_base, vcpus, kernel_ram: docs/profile.md) and writes it, replacing the file atomically.
 * Every later envelope on this host uses it while the qemu build and kernel stay the same.
 * Returns 0 when the measurement joined the profile there, 1 when it started a new one (there
 * was none, or it was made for another qemu, kernel or model).  -EINVAL: not finished, a TCG
 * VM, no path.  Reads the qemu binary (its build ID, its version). */
VMMEM_PUBLIC int vmmem_calibration_save_profile(const vmmem_calibration *calibration,
                                                const vmmem_config *config, const char *path,
                                                unsigned flags, vmmem_error **reterr);

/* ---- every envelope on this host (since 0.5) ---- */

/* One envelope: a vmmem scope, or a cgroup someone else made that vmmem sized (a libvirt
 * domain's, sized by vmmemd).  Envelopes are found by the attributes vmmem sets on the cgroup's
 * directory when it applies the limits (docs/cgroup-layout.md), so that their guest RAM and
 * overhead budget are the ones the limits were computed from.  The strings belong to the
 * status object.  Figures are bytes; a has_* member 0 means the figure is unknown here. */
typedef struct {
    const char *name; /* the VM's -name, else the cgroup's own name */
    const char *path; /* relative to the cgroup2 mount */
    const char *kind; /* "scope" (vmmem's own) or "cgroup" (someone else's, sized by vmmem) */
    pid_t qemu_pid;   /* 0: no qemu in the cgroup (any more) */
    uint64_t guest_ram;
    uint64_t overhead_budget;
    uint64_t memory_max;
    uint64_t memory_high; /* VMMEM_LIMIT_MAX: off */
    uint64_t memory_current;
    uint64_t memory_peak;  /* has_memory_peak: Linux >= 5.19 */
    uint64_t swap_current; /* has_swap_current: swap accounting on */
    /* What qemu's guest RAM mappings hold in memory (/proc/PID/smaps), and memory.current
     * without it: the overhead in use, to set against overhead_budget.  has_guest_resident 0
     * when qemu's smaps could not be read (not root, qemu gone) or its command line not parsed. */
    uint64_t guest_resident;
    uint64_t overhead_used;
    vmmem_memory_events events;
    /* memory.pressure avg10 (%): has_pressure 0 without PSI. */
    double pressure_some_avg10;
    double pressure_full_avg10;
    /* /proc/PID/ksm_merging_pages of qemu: pages KSM merged (Linux >= 6.1). */
    uint64_t ksm_merging_pages;
    int has_memory_peak;
    int has_swap_current;
    int has_guest_resident;
    int has_pressure;
    int has_ksm;
    uint64_t reserved[16]; /* 0: room for later figures */
} vmmem_status_envelope;

/* Reads every envelope on this host now: the whole cgroup2 tree is searched.  @filter: NULL
 * for all, else a VM name or a qemu pid (decimal); -ENOENT when nothing matches.  An envelope
 * whose files vanish while they are read (its VM exited) is left out.  Reading another user's
 * qemu (smaps, for the resident guest RAM) needs root; without it has_guest_resident is 0. */
VMMEM_PUBLIC int vmmem_status_new(const char *filter, unsigned flags, vmmem_status **ret_status,
                                  vmmem_error **reterr);
VMMEM_PUBLIC size_t vmmem_status_get_n_envelopes(const vmmem_status *status);
/* NULL past the end. */
VMMEM_PUBLIC const vmmem_status_envelope *vmmem_status_get_envelope(const vmmem_status *status,
                                                                    size_t index);
/* The host's RAM (MemTotal). */
VMMEM_PUBLIC uint64_t vmmem_status_get_mem_total(const vmmem_status *status);
/* The status JSON contract (docs/json.md).  Free *ret_json with vmmem_free(). */
VMMEM_PUBLIC int vmmem_status_to_json(const vmmem_status *status, unsigned flags, char **ret_json,
                                      vmmem_error **reterr);
VMMEM_PUBLIC vmmem_status *vmmem_status_free(vmmem_status *status);

/* ---- admission: does one more envelope fit the host? (since 0.5) ---- */

/* The figures of an admission check (docs/config.md, "Admission").  Each envelope takes its
 * memory.max, with its guest RAM counted ÷ overcommit (the overhead never is). */
typedef struct {
    int mode;             /* the config's admission: 0 off, 1 warn, 2 strict */
    int fits;             /* request <= available */
    uint64_t mem_total;   /* the host's RAM */
    uint64_t reserve;     /* host-reserve, in bytes */
    double overcommit;    /* the config's overcommit, >= 1 */
    size_t n_envelopes;   /* running envelopes counted (with a qemu in them) */
    uint64_t committed;   /* what they take */
    uint64_t request;     /* what the new envelope takes */
    uint64_t available;   /* mem_total - reserve - committed, or 0 */
    uint64_t capacity;    /* how many envelopes like the new one fit in available */
    uint64_t reserved[8]; /* 0: room for later figures */
} vmmem_admission;

enum {
    /* vmmem_admission_check(): compute the figures even with admission = off (and never
     * refuse then): `vmmem capacity`. */
    VMMEM_ADMISSION_ALWAYS = 1u << 0
};
/* Sets @envelope against every running envelope on this host (read now, the way
 * vmmem_status_new() finds them), the config's host-reserve and overcommit, and MemTotal.
 * With admission = strict, an envelope that does not fit is refused: -EDQUOT with one line of
 * figures.  With warn, 0 and fits = 0: the caller warns.  With off, 0 and fits = 1 without
 * reading anything (unless VMMEM_ADMISSION_ALWAYS).  Two launches at the same moment may both
 * be admitted: the check takes no lock. */
VMMEM_PUBLIC int vmmem_admission_check(const vmmem_envelope *envelope, const vmmem_config *config,
                                       unsigned flags, vmmem_admission *ret_admission,
                                       vmmem_error **reterr);
/* The figures as one line, for a warning: "this VM takes 1.2 GiB; 3 running envelope(s) take
 * ...".  Free with vmmem_free(). */
VMMEM_PUBLIC char *vmmem_admission_to_string(const vmmem_admission *admission);

/* ---- why: an OOM kill explained (since 0.5) ---- */

/* Explains the newest OOM kill of VM @vm (its name or qemu's pid) from the kernel's report in
 * @log (a saved kernel log: dmesg, journal or /dev/kmsg records; NULL reads /dev/kmsg, which
 * needs root) and the envelope, while its cgroup is there: which process was killed in which
 * envelope, the usage split into guest RAM, QEMU overhead and other processes, the cause (a
 * foreign process, the overhead budget, the guest RAM) and the setting that would have avoided
 * it.  *@ret_text: lines for a person (free with vmmem_free()).  -ENOENT: no such kill in the
 * log.  A log that is not one, or is cut short, holds no report: never an error of its own. */
VMMEM_PUBLIC int vmmem_why(const char *vm, const char *log, const vmmem_config *config,
                           unsigned flags, char **ret_text, vmmem_error **reterr);

/* ---- fit: the largest VM for a budget (since 0.5) ---- */

/* The largest guest RAM, in whole MiB, whose envelope's memory.max fits @budget bytes, for the
 * VM of @argv with only its -m size changed (slots, maxmem and every other argument kept; "-m"
 * added when @argv has none).  *@ret_envelope: that VM's envelope; *@ret_m: the -m argument
 * that gives it ("size=3584M,slots=4,maxmem=8G"; free with vmmem_free()).  @host: NULL for
 * this machine.  -ENOSPC: not even a 1 MiB guest fits; -EINVAL: a probe, or a command line
 * whose guest RAM does not follow -m (memory backends or NUMA nodes size it).  A size qemu
 * would refuse (above maxmem) does not fit. */
VMMEM_PUBLIC int vmmem_fit(int argc, const char *const *argv, const vmmem_host *host,
                           const vmmem_config *config, uint64_t budget, unsigned flags,
                           vmmem_envelope **ret_envelope, char **ret_m, vmmem_error **reterr);

/* Removes every empty vmmem scope under the configured parent, and with the systemd backend
 * resets vmmem's failed units so that systemd unloads them.  Flags: VMMEM_SCOPE_BACKEND_*. */
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
VMMEM_DEFINE_POINTER_CLEANUP(vmmem_calibration, vmmem_calibration_free)
VMMEM_DEFINE_POINTER_CLEANUP(vmmem_host, vmmem_host_free)
VMMEM_DEFINE_POINTER_CLEANUP(vmmem_status, vmmem_status_free)

#ifdef __cplusplus
}
#endif

#endif
