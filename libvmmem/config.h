/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmmem-build-config.h"

/* Host policy, from a GKeyFile (docs/config.md):
 *
 *   [vmmem]
 *   qemu = /usr/bin/qemu-system-x86_64   # the real binary for vmmem-qemu
 *   parent = vmmem.slice                  # cgroup under which scopes are made
 *   ratio = 1.0                           # multiplies the computed overhead
 *   overhead-min = 0                      # clamps on the overhead after the ratio (sizes)
 *   overhead-max = 0                      # 0 = no maximum
 *   high = off                            # off | on (= 0.9) | fraction of memory.max
 *   swap = 0                              # size of swap allowed; 0 = none
 *   protect = off                         # off | low | min: protect guest RAM
 *   policy = strict                       # strict | fail-open: inside libvirt, when the
 *                                         # envelope cannot be applied (docs/libvirt.md)
 *   seccomp = off                         # off | on: vmmem-qemu's filter before exec
 *   helper-socket = /run/vmmem/vmmemd.sock  # where vmmem-qemu reaches vmmemd
 *   profile = /var/lib/vmmem/profile.conf  # the host profile (docs/profile.md); none: no profile
 *   domain-env = none                     # VMMEM_* variables a libvirt domain may set: none, or
 *                                         # some of swap, high, ratio, policy, seccomp, qemu
 *   protect-max = 0                       # ceiling on memory.min/low per VM; 0: half of host RAM
 *   admission = warn                      # off | warn | strict: a new envelope that does not
 *                                         # fit the host (admission.c)
 *   host-reserve = 0                      # what admission keeps for the host: a size or N%
 *   overcommit = 1.0                      # guest RAM counted ÷ this (never the overhead)
 *   elastic-pool = 0                      # vmmemd grants VMs that keep crossing memory.high
 *                                         # more from this pool; 0 = off (vmmemd(8))
 *   elastic-step = 64M                    # one grant
 *   elastic-ceiling = 0                   # grants per VM at most; 0 = its overhead budget
 *   backend = auto                        # auto | cgroupfs | systemd: who makes the scopes
 *                                         # (auto: systemd when it is PID 1)
 *   slice = machine.slice                 # the systemd backend's slice for the scopes
 *
 *   [vm NAME]                             # per-VM overrides, NAME as in -name guest=NAME
 *   ratio = ... overhead-min = ... overhead-max = ... high = ... swap = ... protect = ...
 *   policy = ... seccomp = ...
 *
 * (The trailing comments above are illustration: GKeyFile comments are whole lines only.)  Sizes
 * take qemu's suffixes; a bare number is bytes.  ratio and high are kept to 6 decimals.  Keys of
 * a [vm NAME] group override [vmmem] one by one; the others follow [vmmem], even when it changes
 * later.
 *
 * Drop-ins: after FILE, every FILE.d/\*.conf in lexical order, each over the ones before
 * (config_load_path()).
 */

#define VMMEM_DEFAULT_CONFIG_PATH   VMMEM_SYSCONFDIR "/vmmem/vmmem.conf"
#define VMMEM_DEFAULT_QEMU          "/usr/bin/qemu-system-x86_64"
#define VMMEM_DEFAULT_PARENT        "vmmem.slice"
#define VMMEM_DEFAULT_SLICE         "machine.slice"
#define VMMEM_DEFAULT_HELPER_SOCKET "/run/vmmem/vmmemd.sock"
/* memory.high at this fraction of memory.max when "high = on" (docs/overhead-model.md). */
#define VMMEM_DEFAULT_HIGH_FRACTION 0.9
/* ratio and high are kept to 6 decimals and applied in millionths, so that the limits come from
 * exact integer arithmetic (ratio 1.1 adds exactly a tenth). */
#define VMMEM_POLICY_PPM 1000000
/* An arithmetic bound, not a policy: keeps ratio x 10^6 and the scaled overhead in range.
 * KubeVirt only requires >= 1; Harvester caps at 10 (overhead-anchors.md §2.1). */
#define VMMEM_RATIO_MAX 1000.0

typedef enum {
    ADMISSION_OFF,
    ADMISSION_WARN,
    ADMISSION_STRICT,
} AdmissionMode;

/* config.backend: who makes vmmem's scopes (vmmem-scope.c resolves auto). */
typedef enum {
    BACKEND_AUTO = 0,
    BACKEND_CGROUPFS,
    BACKEND_SYSTEMD,
} BackendChoice;

/* One elastic grant by default: a step of the size of the model's larger device terms (a qcow2
 * disk's cache, a display with a client: docs/overhead-model.md), so that a few steps cover
 * what a mis-sized envelope typically lacks.  A policy default, not a measurement. */
#define VMMEM_DEFAULT_ELASTIC_STEP (64u << 20)

/* An arithmetic bound on overcommit, not a policy: the seeds' hosts run 150-200 % with KSM and
 * ballooning. */
#define VMMEM_OVERCOMMIT_MAX 100.0

typedef enum {
    PROTECT_OFF,
    PROTECT_LOW,
    PROTECT_MIN,
} ProtectMode;

/* The policy that applies to one VM: [vmmem] overlaid with its [vm NAME] section. */
typedef struct {
    double ratio;          /* 1.0 to 1000 */
    uint64_t overhead_min; /* bytes */
    uint64_t overhead_max; /* bytes, 0 = none */
    double high_fraction;  /* 0 = off, else in (0, 1) */
    uint64_t swap;         /* bytes, 0 = off */
    ProtectMode protect;
    /* Inside libvirt, an envelope that cannot be applied stops the VM (true, the default:
     * failing to apply memory.max is an error) or is logged and skipped (false: fail-open). */
    bool strict;
    bool seccomp; /* vmmem-qemu installs its seccomp filter before exec */
} Policy;

/* config.domain_env: which <qemu:env> settings of a libvirt domain are honoured. */
enum {
    DOMAIN_ENV_SWAP = 1u << 0,
    DOMAIN_ENV_HIGH = 1u << 1,
    DOMAIN_ENV_RATIO = 1u << 2,
    DOMAIN_ENV_POLICY = 1u << 3,
    DOMAIN_ENV_SECCOMP = 1u << 4,
    DOMAIN_ENV_QEMU = 1u << 5,
};

typedef struct {
    char *path; /* the file read, or NULL */
    char *qemu_binary;
    char *parent;
    char *helper_socket;
    char *profile_path; /* NULL: no profile (profile = none) */
    /* Set explicitly (a config key or override), so that a missing file is worth a warning. */
    bool profile_explicit;
    unsigned domain_env;  /* DOMAIN_ENV_*: none by default */
    uint64_t protect_max; /* bytes; 0: half of the host's RAM */
    AdmissionMode admission;
    BackendChoice backend;
    char *slice;              /* systemd backend: the scopes' slice unit */
    uint64_t reserve_bytes;   /* host-reserve as a size ... */
    unsigned reserve_pct;     /* ... or as a share of MemTotal (0-99); one of them is 0 */
    double overcommit;        /* 1.0 to VMMEM_OVERCOMMIT_MAX, 6 decimals */
    uint64_t elastic_pool;    /* bytes; 0: no elastic overhead */
    uint64_t elastic_step;    /* bytes, > 0 */
    uint64_t elastic_ceiling; /* bytes per VM; 0: the VM's overhead budget */
    Policy defaults;
    GHashTable *vm_policies; /* name -> Policy*, for [vm NAME] groups */
} Config;

/* Defaults only. */
Config *config_new_default(void);
/* Reads @path over the defaults.  Unknown keys or groups: -EINVAL naming them (a typo in a
 * limit must not pass silently).  Refused values: -EINVAL (-ERANGE for a size beyond 64 bits),
 * one line "FILE: [GROUP] KEY = 'VALUE': why".  A missing file: -ENOENT.  On any failure @config
 * is left as it was. */
int config_load_file(Config *config, const char *path, GError **error);
int config_load_data(Config *config, const char *data, GError **error);
/* @path, then its drop-ins @path.d/\*.conf in lexical order.  Neither there: -ENOENT unless
 * @missing_ok.  On any failure @config is left as it was. */
int config_load_path(Config *config, const char *path, bool missing_ok, GError **error);
/* The DOMAIN_ENV_* bit of config key @key, or 0 when a domain may never set it. */
unsigned config_domain_env_bit(const char *key);
/* One [vmmem] key, as from the command line; messages name "(override)" for the file.  On
 * failure @config is left as it was. */
int config_set(Config *config, const char *key, const char *value, GError **error);
/* The value of @key for VM @vm_name (NULL: [vmmem]), in the form config_set() takes back: sizes
 * in bytes, ratio and high as decimals ("off" for no high), the words of the others.  A
 * [vmmem]-only key gives [vmmem]'s value whatever @vm_name.  Unknown key: -ENOENT. */
int config_get(const Config *config, const char *vm_name, const char *key, char **ret_value,
               GError **error);
Config *config_copy(const Config *config);
Config *config_free(Config *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Config, config_free)

/* The policy for @vm_name (NULL: defaults).  @config NULL: the built-in defaults. */
void config_policy_for(const Config *config, const char *vm_name, Policy *ret_policy);
