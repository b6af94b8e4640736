/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host policy from a GKeyFile (docs/config.md).  Every load or override works on a copy that
 * replaces the live Config only once all of it is valid, so a failed call changes nothing. */
#include <math.h>
#include <string.h>

#include "cgroup-plan.h"
#include "config.h"
#include "error.h"
#include "quote.h"
#include "profile.h"
#include "size.h"

#define GROUP_GLOBAL    "vmmem"
#define GROUP_VM_PREFIX "vm "

/* Which Policy fields a [vm NAME] group sets: the rest follow [vmmem], even when [vmmem] changes
 * after the group was read (a later file, config_set()). */
enum {
    SET_RATIO = 1u << 0,
    SET_OVERHEAD_MIN = 1u << 1,
    SET_OVERHEAD_MAX = 1u << 2,
    SET_HIGH = 1u << 3,
    SET_SWAP = 1u << 4,
    SET_PROTECT = 1u << 5,
    SET_POLICY = 1u << 6,
    SET_SECCOMP = 1u << 7,
};

/* The value type of Config.vm_policies; starts with the Policy so it is one. */
typedef struct {
    Policy policy;
    unsigned set;
} VmPolicy;

typedef int (*KeyParser)(const char *text, Config *config, Policy *policy, GError **error);
/* The value in the form its parser reads back to the same setting (config_get()). */
typedef char *(*KeyFormatter)(const Config *config, const Policy *policy);

typedef struct {
    const char *name;
    KeyParser parse;
    KeyFormatter format;
    unsigned set; /* 0: a [vmmem]-only key */
} ConfigKey;

static int
parse_qemu(const char *text, Config *config, Policy *policy, GError **error)
{
    if (!g_path_is_absolute(text))
        return vmmem_fail(error, EINVAL, "must be an absolute path");
    g_free(config->qemu_binary);
    config->qemu_binary = g_strdup(text);
    return 0;
}

static int
parse_parent(const char *text, Config *config, Policy *policy, GError **error)
{
    int r = cgroup_plan_check_parent(text, error);

    if (r < 0)
        return r;
    g_free(config->parent);
    config->parent = g_strdup(text);
    return 0;
}

/* Only plain decimals: g_ascii_strtod() would also take "inf", "nan", hex and leading blanks. */
static int
parse_decimal(const char *text, double *ret, GError **error)
{
    char *end = NULL;
    double v;

    if (!g_ascii_isdigit(text[0]) || strpbrk(text, "xXpP"))
        return vmmem_fail(error, EINVAL, "not a decimal number");
    v = g_ascii_strtod(text, &end);
    if (*end != '\0' || !isfinite(v))
        return vmmem_fail(error, EINVAL, "not a decimal number");
    *ret = v;
    return 0;
}

/* Stored already rounded to the precision they are applied with.  @v is within
 * [0, VMMEM_RATIO_MAX]: the conversion cannot overflow (and libm is not linked). */
static double
round_ppm(double v)
{
    return (double)(uint64_t)(v * VMMEM_POLICY_PPM + 0.5) / VMMEM_POLICY_PPM;
}

static int
parse_ratio(const char *text, Config *config, Policy *policy, GError **error)
{
    double v;
    int r = parse_decimal(text, &v, error);

    if (r < 0)
        return r;
    /* Below 1 the ratio would cut the computed overhead, which the kernel then makes up for
     * with an OOM kill; KubeVirt and Harvester refuse it too (overhead-anchors.md §1.5, §2.1). */
    if (v < 1.0 || v > VMMEM_RATIO_MAX)
        return vmmem_fail(error, EINVAL, "must be between 1.0 and %g", VMMEM_RATIO_MAX);
    policy->ratio = round_ppm(v);
    return 0;
}

static int
parse_size(const char *text, uint64_t *ret, GError **error)
{
    int r = vmmem_parse_size(text, 1, ret);

    if (r == -ERANGE)
        return vmmem_fail(error, ERANGE, "does not fit in 64 bits");
    if (r < 0)
        return vmmem_fail(error, EINVAL, "not a size (bytes, or a number with B K M G T P E)");
    return 0;
}

static int
parse_overhead_min(const char *text, Config *config, Policy *policy, GError **error)
{
    return parse_size(text, &policy->overhead_min, error);
}

static int
parse_overhead_max(const char *text, Config *config, Policy *policy, GError **error)
{
    return parse_size(text, &policy->overhead_max, error);
}

static int
parse_swap(const char *text, Config *config, Policy *policy, GError **error)
{
    return parse_size(text, &policy->swap, error);
}

static int
parse_high(const char *text, Config *config, Policy *policy, GError **error)
{
    double v;

    if (strcmp(text, "off") == 0) {
        policy->high_fraction = 0;
        return 0;
    }
    if (strcmp(text, "on") == 0) {
        policy->high_fraction = VMMEM_DEFAULT_HIGH_FRACTION;
        return 0;
    }
    if (parse_decimal(text, &v, NULL) < 0 || v >= 1.0 || round_ppm(v) <= 0.0 || round_ppm(v) >= 1.0)
        return vmmem_fail(error, EINVAL,
                          "must be off, on or a fraction of memory.max between 0 and 1 "
                          "(exclusive, 6 decimals)");
    policy->high_fraction = round_ppm(v);
    return 0;
}

static const struct {
    const char *name;
    ProtectMode mode;
} protect_modes[] = {
    {"off", PROTECT_OFF},
    {"low", PROTECT_LOW},
    {"min", PROTECT_MIN},
};

static int
parse_protect(const char *text, Config *config, Policy *policy, GError **error)
{
    for (size_t i = 0; i < G_N_ELEMENTS(protect_modes); i++) {
        if (strcmp(text, protect_modes[i].name) == 0) {
            policy->protect = protect_modes[i].mode;
            return 0;
        }
    }
    return vmmem_fail(error, EINVAL, "must be off, low or min");
}

static int
parse_policy(const char *text, Config *config, Policy *policy, GError **error)
{
    if (strcmp(text, "strict") == 0)
        policy->strict = true;
    else if (strcmp(text, "fail-open") == 0)
        policy->strict = false;
    else
        return vmmem_fail(error, EINVAL, "must be strict or fail-open");
    return 0;
}

static int
parse_seccomp(const char *text, Config *config, Policy *policy, GError **error)
{
    if (strcmp(text, "on") == 0)
        policy->seccomp = true;
    else if (strcmp(text, "off") == 0)
        policy->seccomp = false;
    else
        return vmmem_fail(error, EINVAL, "must be on or off");
    return 0;
}

static int
parse_helper_socket(const char *text, Config *config, Policy *policy, GError **error)
{
    if (!g_path_is_absolute(text))
        return vmmem_fail(error, EINVAL, "must be an absolute path");
    /* sun_path holds 108 bytes with the terminating NUL. */
    if (strlen(text) >= 108)
        return vmmem_fail(error, EINVAL, "longer than a UNIX socket path may be (107 bytes)");
    g_free(config->helper_socket);
    config->helper_socket = g_strdup(text);
    return 0;
}

/* The VMMEM_* variables a libvirt domain may set through <qemu:env>, by the key each sets.
 * Domain XML is written by whoever may define domains, who need not be trusted with the host's
 * policy, so none is honoured unless root lists it (docs/libvirt.md). */
static const struct {
    const char *name;
    unsigned bit;
} domain_env_keys[] = {
    {"swap", DOMAIN_ENV_SWAP},     {"high", DOMAIN_ENV_HIGH},       {"ratio", DOMAIN_ENV_RATIO},
    {"policy", DOMAIN_ENV_POLICY}, {"seccomp", DOMAIN_ENV_SECCOMP}, {"qemu", DOMAIN_ENV_QEMU},
};

unsigned
config_domain_env_bit(const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(domain_env_keys); i++)
        if (strcmp(domain_env_keys[i].name, key) == 0)
            return domain_env_keys[i].bit;
    return 0;
}

static int
parse_domain_env(const char *text, Config *config, Policy *policy, GError **error)
{
    g_auto(GStrv) names = g_strsplit_set(text, ", ", -1);
    unsigned bits = 0;

    for (char **n = names; *n; n++) {
        unsigned bit;

        if (!**n || strcmp(*n, "none") == 0)
            continue;
        bit = config_domain_env_bit(*n);
        if (!bit)
            return vmmem_fail(error, EINVAL,
                              "'%s' is not one of none, swap, high, ratio, policy, seccomp, qemu",
                              *n);
        bits |= bit;
    }
    config->domain_env = bits;
    return 0;
}

static int
parse_protect_max(const char *text, Config *config, Policy *policy, GError **error)
{
    return parse_size(text, &config->protect_max, error);
}

static int
parse_admission(const char *text, Config *config, Policy *policy, GError **error)
{
    static const char *const names[] = {"off", "warn", "strict"};

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(text, names[i]) == 0) {
            config->admission = (AdmissionMode)i;
            return 0;
        }
    }
    return vmmem_fail(error, EINVAL, "must be off, warn or strict");
}

static const char *const backend_names[] = {"auto", "cgroupfs", "systemd"};

static int
parse_backend(const char *text, Config *config, Policy *policy, GError **error)
{
    for (size_t i = 0; i < G_N_ELEMENTS(backend_names); i++) {
        if (strcmp(text, backend_names[i]) == 0) {
            config->backend = (BackendChoice)i;
            return 0;
        }
    }
    return vmmem_fail(error, EINVAL, "must be auto, cgroupfs or systemd");
}

static int
parse_slice(const char *text, Config *config, Policy *policy, GError **error)
{
    int r = cgroup_plan_check_slice(text, error);

    if (r < 0)
        return r;
    g_free(config->slice);
    config->slice = g_strdup(text);
    return 0;
}

static int
parse_host_reserve(const char *text, Config *config, Policy *policy, GError **error)
{
    size_t n = strlen(text);

    if (n > 1 && text[n - 1] == '%') {
        g_autofree char *digits = g_strndup(text, n - 1);
        guint64 pct;
        if (!g_ascii_string_to_unsigned(digits, 10, 0, 99, &pct, NULL))
            return vmmem_fail(error, EINVAL, "a share of the host's RAM must be 0%% to 99%%");
        config->reserve_pct = (unsigned)pct;
        config->reserve_bytes = 0;
        return 0;
    }
    config->reserve_pct = 0;
    return parse_size(text, &config->reserve_bytes, error);
}

static int
parse_overcommit(const char *text, Config *config, Policy *policy, GError **error)
{
    double v;
    int r = parse_decimal(text, &v, error);

    if (r < 0)
        return r;
    /* Below 1 would count guest RAM as more than it is; overhead is never overcommitted. */
    if (v < 1.0 || v > VMMEM_OVERCOMMIT_MAX)
        return vmmem_fail(error, EINVAL, "must be between 1.0 and %g", VMMEM_OVERCOMMIT_MAX);
    config->overcommit = round_ppm(v);
    return 0;
}

static int
parse_elastic_pool(const char *text, Config *config, Policy *policy, GError **error)
{
    return parse_size(text, &config->elastic_pool, error);
}

static int
parse_elastic_step(const char *text, Config *config, Policy *policy, GError **error)
{
    uint64_t v;
    int r = parse_size(text, &v, error);

    if (r < 0)
        return r;
    if (v < 4096)
        return vmmem_fail(error, EINVAL, "must be at least a page (4K)");
    config->elastic_step = v;
    return 0;
}

static int
parse_elastic_ceiling(const char *text, Config *config, Policy *policy, GError **error)
{
    return parse_size(text, &config->elastic_ceiling, error);
}

static int
parse_profile(const char *text, Config *config, Policy *policy, GError **error)
{
    if (strcmp(text, "none") != 0 && !g_path_is_absolute(text))
        return vmmem_fail(error, EINVAL, "must be an absolute path or none");
    g_free(config->profile_path);
    config->profile_path = strcmp(text, "none") == 0 ? NULL : g_strdup(text);
    config->profile_explicit = true;
    return 0;
}

/* Formatters: each prints what its parser above reads back to the same setting. */

/* ratio and high are held to 6 decimals (VMMEM_POLICY_PPM): printed exactly, without trailing
 * zeros. */
static char *
format_decimal(double v)
{
    uint64_t ppm = (uint64_t)(v * VMMEM_POLICY_PPM + 0.5);
    g_autofree char *s = g_strdup_printf("%" G_GUINT64_FORMAT ".%06" G_GUINT64_FORMAT,
                                         ppm / VMMEM_POLICY_PPM, ppm % VMMEM_POLICY_PPM);
    size_t n = strlen(s);

    while (s[n - 1] == '0')
        s[--n] = '\0';
    if (s[n - 1] == '.')
        s[--n] = '\0';
    return g_steal_pointer(&s);
}

static char *
format_bytes(uint64_t v)
{
    return g_strdup_printf("%" G_GUINT64_FORMAT, v);
}

static char *
format_qemu(const Config *config, const Policy *policy)
{
    return g_strdup(config->qemu_binary);
}

static char *
format_parent(const Config *config, const Policy *policy)
{
    return g_strdup(config->parent);
}

static char *
format_ratio(const Config *config, const Policy *policy)
{
    return format_decimal(policy->ratio);
}

static char *
format_overhead_min(const Config *config, const Policy *policy)
{
    return format_bytes(policy->overhead_min);
}

static char *
format_overhead_max(const Config *config, const Policy *policy)
{
    return format_bytes(policy->overhead_max);
}

static char *
format_high(const Config *config, const Policy *policy)
{
    return policy->high_fraction > 0 ? format_decimal(policy->high_fraction) : g_strdup("off");
}

static char *
format_swap(const Config *config, const Policy *policy)
{
    return format_bytes(policy->swap);
}

static char *
format_protect(const Config *config, const Policy *policy)
{
    for (size_t i = 0; i < G_N_ELEMENTS(protect_modes); i++) {
        if (protect_modes[i].mode == policy->protect)
            return g_strdup(protect_modes[i].name);
    }
    g_return_val_if_reached(NULL);
}

static char *
format_policy(const Config *config, const Policy *policy)
{
    return g_strdup(policy->strict ? "strict" : "fail-open");
}

static char *
format_seccomp(const Config *config, const Policy *policy)
{
    return g_strdup(policy->seccomp ? "on" : "off");
}

static char *
format_helper_socket(const Config *config, const Policy *policy)
{
    return g_strdup(config->helper_socket);
}

static char *
format_profile(const Config *config, const Policy *policy)
{
    return g_strdup(config->profile_path ? config->profile_path : "none");
}

static char *
format_domain_env(const Config *config, const Policy *policy)
{
    GString *s = g_string_new(NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(domain_env_keys); i++) {
        if (config->domain_env & domain_env_keys[i].bit)
            g_string_append_printf(s, "%s%s", s->len ? "," : "", domain_env_keys[i].name);
    }
    if (!s->len)
        g_string_append(s, "none");
    return g_string_free(s, FALSE);
}

static char *
format_protect_max(const Config *config, const Policy *policy)
{
    return format_bytes(config->protect_max);
}

static char *
format_admission(const Config *config, const Policy *policy)
{
    static const char *const names[] = {"off", "warn", "strict"};
    return g_strdup(names[config->admission]);
}

static char *
format_backend(const Config *config, const Policy *policy)
{
    return g_strdup(backend_names[config->backend]);
}

static char *
format_slice(const Config *config, const Policy *policy)
{
    return g_strdup(config->slice);
}

static char *
format_host_reserve(const Config *config, const Policy *policy)
{
    return config->reserve_pct ? g_strdup_printf("%u%%", config->reserve_pct)
                               : format_bytes(config->reserve_bytes);
}

static char *
format_overcommit(const Config *config, const Policy *policy)
{
    return format_decimal(config->overcommit);
}

static char *
format_elastic_pool(const Config *config, const Policy *policy)
{
    return format_bytes(config->elastic_pool);
}

static char *
format_elastic_step(const Config *config, const Policy *policy)
{
    return format_bytes(config->elastic_step);
}

static char *
format_elastic_ceiling(const Config *config, const Policy *policy)
{
    return format_bytes(config->elastic_ceiling);
}

static const ConfigKey config_keys[] = {
    {"qemu", parse_qemu, format_qemu, 0},
    {"parent", parse_parent, format_parent, 0},
    {"ratio", parse_ratio, format_ratio, SET_RATIO},
    {"overhead-min", parse_overhead_min, format_overhead_min, SET_OVERHEAD_MIN},
    {"overhead-max", parse_overhead_max, format_overhead_max, SET_OVERHEAD_MAX},
    {"high", parse_high, format_high, SET_HIGH},
    {"swap", parse_swap, format_swap, SET_SWAP},
    {"protect", parse_protect, format_protect, SET_PROTECT},
    {"policy", parse_policy, format_policy, SET_POLICY},
    {"seccomp", parse_seccomp, format_seccomp, SET_SECCOMP},
    {"helper-socket", parse_helper_socket, format_helper_socket, 0},
    {"profile", parse_profile, format_profile, 0},
    {"domain-env", parse_domain_env, format_domain_env, 0},
    {"protect-max", parse_protect_max, format_protect_max, 0},
    {"admission", parse_admission, format_admission, 0},
    {"host-reserve", parse_host_reserve, format_host_reserve, 0},
    {"overcommit", parse_overcommit, format_overcommit, 0},
    {"elastic-pool", parse_elastic_pool, format_elastic_pool, 0},
    {"elastic-step", parse_elastic_step, format_elastic_step, 0},
    {"elastic-ceiling", parse_elastic_ceiling, format_elastic_ceiling, 0},
    {"backend", parse_backend, format_backend, 0},
    {"slice", parse_slice, format_slice, 0},
};

static const ConfigKey *
find_key(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(config_keys); i++) {
        if (strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    }
    return NULL;
}

static const Policy default_policy = {
    .ratio = 1.0,
    .overhead_min = 0,
    .overhead_max = 0,
    .high_fraction = 0,
    .swap = 0,
    .protect = PROTECT_OFF,
    .strict = true,
    .seccomp = false,
};

static GHashTable *
vm_policies_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

Config *
config_new_default(void)
{
    Config *config = g_new0(Config, 1);

    config->qemu_binary = g_strdup(VMMEM_DEFAULT_QEMU);
    config->parent = g_strdup(VMMEM_DEFAULT_PARENT);
    config->slice = g_strdup(VMMEM_DEFAULT_SLICE);
    config->helper_socket = g_strdup(VMMEM_DEFAULT_HELPER_SOCKET);
    config->profile_path = g_strdup(VMMEM_DEFAULT_PROFILE_PATH);
    config->defaults = default_policy;
    config->admission = ADMISSION_WARN;
    config->overcommit = 1.0;
    config->elastic_step = VMMEM_DEFAULT_ELASTIC_STEP;
    config->vm_policies = vm_policies_new();
    return config;
}

Config *
config_copy(const Config *config)
{
    Config *copy = g_new0(Config, 1);
    GHashTableIter iter;
    gpointer name, vp;

    copy->path = g_strdup(config->path);
    copy->qemu_binary = g_strdup(config->qemu_binary);
    copy->parent = g_strdup(config->parent);
    copy->slice = g_strdup(config->slice);
    copy->backend = config->backend;
    copy->helper_socket = g_strdup(config->helper_socket);
    copy->profile_path = g_strdup(config->profile_path);
    copy->profile_explicit = config->profile_explicit;
    copy->domain_env = config->domain_env;
    copy->protect_max = config->protect_max;
    copy->admission = config->admission;
    copy->reserve_bytes = config->reserve_bytes;
    copy->reserve_pct = config->reserve_pct;
    copy->overcommit = config->overcommit;
    copy->elastic_pool = config->elastic_pool;
    copy->elastic_step = config->elastic_step;
    copy->elastic_ceiling = config->elastic_ceiling;
    copy->defaults = config->defaults;
    copy->vm_policies = vm_policies_new();
    g_hash_table_iter_init(&iter, config->vm_policies);
    while (g_hash_table_iter_next(&iter, &name, &vp))
        g_hash_table_insert(copy->vm_policies, g_strdup(name), g_memdup2(vp, sizeof(VmPolicy)));
    return copy;
}

static void
config_clear(Config *config)
{
    g_free(config->path);
    g_free(config->qemu_binary);
    g_free(config->parent);
    g_free(config->slice);
    g_free(config->helper_socket);
    g_free(config->profile_path);
    g_clear_pointer(&config->vm_policies, g_hash_table_unref);
}

Config *
config_free(Config *config)
{
    if (config) {
        config_clear(config);
        g_free(config);
    }
    return NULL;
}

/* Moves everything from @src (freed) into @dst. */
static void
config_replace(Config *dst, Config *src)
{
    config_clear(dst);
    *dst = *src;
    g_free(src);
}

static void
overlay(Policy *policy, const VmPolicy *vp)
{
    if (vp->set & SET_RATIO)
        policy->ratio = vp->policy.ratio;
    if (vp->set & SET_OVERHEAD_MIN)
        policy->overhead_min = vp->policy.overhead_min;
    if (vp->set & SET_OVERHEAD_MAX)
        policy->overhead_max = vp->policy.overhead_max;
    if (vp->set & SET_HIGH)
        policy->high_fraction = vp->policy.high_fraction;
    if (vp->set & SET_SWAP)
        policy->swap = vp->policy.swap;
    if (vp->set & SET_PROTECT)
        policy->protect = vp->policy.protect;
    if (vp->set & SET_POLICY)
        policy->strict = vp->policy.strict;
    if (vp->set & SET_SECCOMP)
        policy->seccomp = vp->policy.seccomp;
}

void
config_policy_for(const Config *config, const char *vm_name, Policy *ret_policy)
{
    const VmPolicy *vp;

    if (!config) {
        *ret_policy = default_policy;
        return;
    }
    *ret_policy = config->defaults;
    if (vm_name && (vp = g_hash_table_lookup(config->vm_policies, vm_name)))
        overlay(ret_policy, vp);
}

/* Values go into messages; an escaped "\n" in a key file must not split the line. */
static int
fail_key(GError **error, GError *cause, const char *origin, const char *group, const char *key,
         const char *value)
{
    g_autofree char *shown = quote_for_message(value ? value : "", QUOTE_MAX);
    int errnum = vmmem_error_errno(cause);

    vmmem_fail(error, errnum, "%s: [%s] %s = '%s': %s", origin, group, key, shown,
               cause ? cause->message : "invalid");
    g_clear_error(&cause);
    return -errnum;
}

static int
apply_key(Config *config, Policy *policy, unsigned *set, const char *origin, const char *group,
          const char *key, const char *value, GError **error)
{
    const ConfigKey *k = find_key(key);
    GError *cause = NULL;

    if (!k || (set && !k->set)) {
        g_set_error_literal(&cause, VMMEM_ERROR, EINVAL,
                            k ? "only allowed in [" GROUP_GLOBAL "]" : "unknown key");
        return fail_key(error, cause, origin, group, key, value);
    }
    if (k->parse(value, config, policy, &cause) < 0)
        return fail_key(error, cause, origin, group, key, value);
    if (set)
        *set |= k->set;
    return 0;
}

static int
check_clamps(const Policy *policy, const char *origin, const char *group, GError **error)
{
    if (policy->overhead_max && policy->overhead_min > policy->overhead_max)
        return vmmem_fail(error, EINVAL,
                          "%s: [%s] overhead-min (%" G_GUINT64_FORMAT
                          ") exceeds overhead-max (%" G_GUINT64_FORMAT ")",
                          origin, group, policy->overhead_min, policy->overhead_max);
    return 0;
}

/* Every VM inherits [vmmem], so a change there can make a [vm NAME] group inconsistent. */
static int
check_config(const Config *config, const char *origin, GError **error)
{
    GHashTableIter iter;
    gpointer name, vp;
    int r = check_clamps(&config->defaults, origin, GROUP_GLOBAL, error);

    g_hash_table_iter_init(&iter, config->vm_policies);
    while (r == 0 && g_hash_table_iter_next(&iter, &name, &vp)) {
        g_autofree char *group = g_strconcat(GROUP_VM_PREFIX, (const char *)name, NULL);
        Policy policy;

        config_policy_for(config, name, &policy);
        r = check_clamps(&policy, origin, group, error);
    }
    return r;
}

static int
apply_group(Config *config, GKeyFile *kf, const char *origin, const char *group, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
    const char *vm_name = NULL;
    VmPolicy *vp = NULL;

    if (g_str_has_prefix(group, GROUP_VM_PREFIX) && group[strlen(GROUP_VM_PREFIX)] != '\0') {
        vm_name = group + strlen(GROUP_VM_PREFIX);
        vp = g_hash_table_lookup(config->vm_policies, vm_name);
        if (!vp) {
            vp = g_new0(VmPolicy, 1);
            g_hash_table_insert(config->vm_policies, g_strdup(vm_name), vp);
        }
    } else if (strcmp(group, GROUP_GLOBAL) != 0) {
        g_autofree char *shown = quote_for_message(group, QUOTE_MAX);
        return vmmem_fail(error, EINVAL,
                          "%s: unknown group [%s] (expected [" GROUP_GLOBAL "] or [" GROUP_VM_PREFIX
                          "NAME])",
                          origin, shown);
    }

    for (size_t i = 0; keys && keys[i]; i++) {
        GError *cause = NULL;
        g_autofree char *value = g_key_file_get_string(kf, group, keys[i], &cause);
        int r;

        if (!value) {
            g_autofree char *raw = g_key_file_get_value(kf, group, keys[i], NULL);
            g_clear_error(&cause);
            g_set_error_literal(&cause, VMMEM_ERROR, EINVAL, "not a valid string");
            return fail_key(error, cause, origin, group, keys[i], raw);
        }
        if (vp)
            r = apply_key(config, &vp->policy, &vp->set, origin, group, keys[i], value, error);
        else
            r = apply_key(config, &config->defaults, NULL, origin, group, keys[i], value, error);
        if (r < 0)
            return r;
    }
    return 0;
}

static int
load_key_file(Config *config, const char *data, size_t len, const char *origin, const char *path,
              GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) cause = NULL;
    g_auto(GStrv) groups = NULL;
    Config *next;
    int r = 0;

    /* Translations are kept so that "ratio[de] = 2" is refused rather than silently dropped. */
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_KEEP_TRANSLATIONS, &cause))
        return vmmem_fail(error, EINVAL, "%s: %s", origin, cause->message);

    next = config_copy(config);
    groups = g_key_file_get_groups(kf, NULL);
    for (size_t i = 0; r == 0 && groups[i]; i++)
        r = apply_group(next, kf, origin, groups[i], error);
    if (r == 0)
        r = check_config(next, origin, error);
    if (r < 0) {
        config_free(next);
        return r;
    }
    if (path) {
        g_free(next->path);
        next->path = g_strdup(path);
    }
    config_replace(config, next);
    return 0;
}

int
config_load_file(Config *config, const char *path, GError **error)
{
    g_autoptr(GError) cause = NULL;
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &data, &len, &cause)) {
        int e = vmmem_errno_from_file_error(cause);

        return vmmem_fail(error, e, "cannot read '%s': %s", path, g_strerror(e));
    }
    return load_key_file(config, data, len, path, path, error);
}

static int
compare_paths(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* *.conf in @dir, sorted: the order in which drop-ins apply. */
static int
list_dropins(const char *dir, GPtrArray **ret_files, GError **error)
{
    g_autoptr(GError) cause = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &cause);
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    if (!d) {
        int e = vmmem_errno_from_file_error(cause);
        if (e == ENOENT || e == ENOTDIR) {
            *ret_files = g_steal_pointer(&files);
            return 0;
        }
        return vmmem_fail(error, e, "cannot read '%s': %s", dir, g_strerror(e));
    }
    while ((name = g_dir_read_name(d)))
        if (g_str_has_suffix(name, ".conf") && name[0] != '.')
            g_ptr_array_add(files, g_build_filename(dir, name, NULL));
    g_ptr_array_sort(files, compare_paths);
    *ret_files = g_steal_pointer(&files);
    return 0;
}

int
config_load_path(Config *config, const char *path, bool missing_ok, GError **error)
{
    g_autofree char *dir = g_strconcat(path, ".d", NULL);
    g_autoptr(GPtrArray) files = NULL;
    g_autoptr(Config) next = config_copy(config);
    bool found = false;
    int r;

    r = config_load_file(next, path, error);
    if (r == -ENOENT) {
        g_clear_error(error);
        r = 0;
    } else {
        found = true;
    }
    if (r < 0)
        return r;
    r = list_dropins(dir, &files, error);
    if (r < 0)
        return r;
    for (guint i = 0; i < files->len; i++) {
        r = config_load_file(next, g_ptr_array_index(files, i), error);
        if (r < 0)
            return r;
        found = true;
    }
    if (!found && !missing_ok)
        return vmmem_fail(error, ENOENT, "cannot read '%s': %s", path, g_strerror(ENOENT));
    config_replace(config, g_steal_pointer(&next));
    return 0;
}

int
config_load_data(Config *config, const char *data, GError **error)
{
    return load_key_file(config, data, strlen(data), "(config data)", NULL, error);
}

int
config_set(Config *config, const char *key, const char *value, GError **error)
{
    Config *next = config_copy(config);
    int r;

    r = apply_key(next, &next->defaults, NULL, "(override)", GROUP_GLOBAL, key, value, error);
    if (r == 0)
        r = check_config(next, "(override)", error);
    if (r < 0) {
        config_free(next);
        return r;
    }
    config_replace(config, next);
    return 0;
}

int
config_get(const Config *config, const char *vm_name, const char *key, char **ret_value,
           GError **error)
{
    const ConfigKey *k = find_key(key);
    Policy policy;

    if (!k) {
        g_autofree char *shown = quote_for_message(key, QUOTE_MAX);
        return vmmem_fail(error, ENOENT, "unknown key '%s'", shown);
    }
    config_policy_for(config, vm_name, &policy);
    *ret_value = k->format(config, &policy);
    return 0;
}
