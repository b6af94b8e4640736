/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public boundary: plain C types outside, GLib inside.  Each GError becomes a vmmem_error
 * here and nowhere else. */
#include <stdlib.h>
#include <unistd.h>

#include "vmmem-build-config.h"
#include "config.h"
#include "calibrate-read.h"
#include "calibrate.h"
#include "cgroup-backend.h"
#include "cgroup-util.h"
#include "envelope.h"
#include "error.h"
#include "host.h"
#include "vm-spec.h"
#include "vmmem-private.h"
#include "vmmem/vmmem.h"

int
export_error(GError *error, int argv_index, vmmem_error **reterr)
{
    int errnum = vmmem_error_errno(error);

    if (reterr) {
        vmmem_error *e = g_new0(vmmem_error, 1);
        e->errnum = errnum;
        e->message = g_strdup(error ? error->message : g_strerror(errnum));
        e->argv_index = argv_index;
        *reterr = e;
    }
    g_clear_error(&error);
    return -errnum;
}

const char *
vmmem_version(void)
{
    return VMMEM_VERSION;
}

void
vmmem_free(void *p)
{
    g_free(p);
}

int
vmmem_error_get_errno(const vmmem_error *e)
{
    return e ? e->errnum : 0;
}

const char *
vmmem_error_get_message(const vmmem_error *e)
{
    return e ? e->message : NULL;
}

int
vmmem_error_get_argv_index(const vmmem_error *e)
{
    return e ? e->argv_index : -1;
}

vmmem_error *
vmmem_error_free(vmmem_error *e)
{
    if (e) {
        g_free(e->message);
        g_free(e);
    }
    return NULL;
}

/* ---- config ---- */

static const char *
pick_config_path(const char *path, unsigned flags)
{
    const char *env;

    if (path)
        return path;
    if (!(flags & VMMEM_CONFIG_IGNORE_ENV) && (env = g_getenv("VMMEM_CONFIG")) && *env)
        return env;
    if (!(flags & VMMEM_CONFIG_NO_FILE))
        return VMMEM_DEFAULT_CONFIG_PATH;
    return NULL;
}

int
vmmem_config_new(const char *path, unsigned flags, vmmem_config **ret_config, vmmem_error **reterr)
{
    g_autoptr(Config) config = config_new_default();
    GError *error = NULL;
    const char *file;

    return_val_if_fail(ret_config &&
                           !(flags & ~(unsigned)(VMMEM_CONFIG_IGNORE_ENV | VMMEM_CONFIG_NO_FILE)),
                       -EINVAL);
    file = pick_config_path(path, flags);
    /* The default file is optional; a file the caller names is not. */
    if (file && config_load_path(config, file,
                                 !path && strcmp(file, VMMEM_DEFAULT_CONFIG_PATH) == 0, &error) < 0)
        return export_error(error, -1, reterr);
    *ret_config = g_new0(vmmem_config, 1);
    (*ret_config)->config = g_steal_pointer(&config);
    return 0;
}

int
vmmem_config_set(vmmem_config *c, const char *key, const char *value, vmmem_error **reterr)
{
    GError *error = NULL;

    return_val_if_fail(c && key && value, -EINVAL);
    if (config_set(c->config, key, value, &error) < 0)
        return export_error(error, -1, reterr);
    return 0;
}

const char *
vmmem_config_get_qemu_binary(const vmmem_config *c)
{
    return c ? c->config->qemu_binary : NULL;
}

int
vmmem_config_get(const vmmem_config *c, const char *vm_name, const char *key, char **ret_value,
                 vmmem_error **reterr)
{
    GError *error = NULL;

    return_val_if_fail(c && key && ret_value, -EINVAL);
    if (config_get(c->config, vm_name, key, ret_value, &error) < 0)
        return export_error(error, -1, reterr);
    return 0;
}

vmmem_config *
vmmem_config_free(vmmem_config *c)
{
    if (c) {
        config_free(c->config);
        g_free(c);
    }
    return NULL;
}

/* ---- spec ---- */

static char *
quote_argv(int argc, const char *const *argv)
{
    GString *out = g_string_new(NULL);

    for (int i = 0; i < argc; i++) {
        g_autofree char *q = g_shell_quote(argv[i]);
        g_string_append_printf(out, "%s%s", i ? " " : "", q);
    }
    return g_string_free(out, FALSE);
}

/* ---- host ---- */

int
vmmem_host_new_local(unsigned flags, vmmem_host **ret_host, vmmem_error **reterr)
{
    HostInfo *host = NULL;
    GError *error = NULL;

    return_val_if_fail(ret_host && flags == 0, -EINVAL);
    if (host_info_read(&host, &error) < 0)
        return export_error(error, -1, reterr);
    *ret_host = g_new0(vmmem_host, 1);
    (*ret_host)->host = host;
    (*ret_host)->local = true;
    return 0;
}

int
vmmem_host_new_from_json(const char *json, unsigned flags, vmmem_host **ret_host,
                         vmmem_error **reterr)
{
    HostInfo *host = NULL;
    GError *error = NULL;

    return_val_if_fail(json && ret_host && flags == 0, -EINVAL);
    if (host_info_from_json(json, &host, &error) < 0)
        return export_error(error, -1, reterr);
    *ret_host = g_new0(vmmem_host, 1);
    (*ret_host)->host = host;
    return 0;
}

int
vmmem_host_to_json(const vmmem_host *h, unsigned flags, char **ret_json, vmmem_error **reterr)
{
    return_val_if_fail(h && ret_json && flags == 0, -EINVAL);
    *ret_json = host_info_to_json(h->host);
    return 0;
}

uint64_t
vmmem_host_get_physmem(const vmmem_host *h)
{
    return h ? h->host->physmem : 0;
}

vmmem_host *
vmmem_host_free(vmmem_host *h)
{
    if (h) {
        host_info_free(h->host);
        g_free(h);
    }
    return NULL;
}

/* ---- spec ---- */

int
vmmem_spec_new_for_host(int argc, const char *const *argv, const vmmem_host *for_host,
                        unsigned flags, vmmem_spec **ret_spec, vmmem_error **reterr)
{
    g_autoptr(HostInfo) host = NULL;
    g_autoptr(VmSpec) spec = NULL;
    GError *error = NULL;
    int bad_index = -1;
    bool local = !for_host || for_host->local;

    return_val_if_fail(argc >= 0 && (argv || argc == 0) && ret_spec && flags == 0, -EINVAL);
    if (for_host)
        host = host_info_copy(for_host->host);
    else if (host_info_read(&host, &error) < 0)
        return export_error(error, -1, reterr);
    if (vm_spec_parse(argc, argv, host, &spec, &bad_index, &error) < 0)
        return export_error(error, bad_index, reterr);
    /* Another host's files are not here to read: the model budgets what any file may cost. */
    if (local)
        host_info_probe_files(host, spec, NULL);
    *ret_spec = g_new0(vmmem_spec, 1);
    g_atomic_ref_count_init(&(*ret_spec)->ref);
    (*ret_spec)->spec = g_steal_pointer(&spec);
    (*ret_spec)->host = g_steal_pointer(&host);
    (*ret_spec)->local = local;
    (*ret_spec)->command = quote_argv(argc, argv);
    return 0;
}

int
vmmem_spec_new_from_argv(int argc, const char *const *argv, unsigned flags, vmmem_spec **ret_spec,
                         vmmem_error **reterr)
{
    return vmmem_spec_new_for_host(argc, argv, NULL, flags, ret_spec, reterr);
}

int
vmmem_spec_is_probe(const vmmem_spec *s)
{
    return s && s->spec->probe;
}

const char *
vmmem_spec_get_name(const vmmem_spec *s)
{
    return s ? s->spec->name : NULL;
}

uint64_t
vmmem_spec_get_guest_ram(const vmmem_spec *s)
{
    return s ? s->spec->guest_ram : 0;
}

uint64_t
vmmem_spec_get_hugetlb_ram(const vmmem_spec *s)
{
    return s ? s->spec->hugetlb_ram : 0;
}

unsigned
vmmem_spec_get_vcpus(const vmmem_spec *s)
{
    return s ? s->spec->vcpus : 0;
}

vmmem_spec *
vmmem_spec_free(vmmem_spec *s)
{
    if (s && g_atomic_ref_count_dec(&s->ref)) {
        vm_spec_free(s->spec);
        host_info_free(s->host);
        g_free(s->command);
        g_free(s);
    }
    return NULL;
}

/* ---- envelope ---- */

int
vmmem_envelope_new(const vmmem_spec *spec, const vmmem_config *config, unsigned flags,
                   vmmem_envelope **ret_envelope, vmmem_error **reterr)
{
    g_autoptr(Config) defaults = NULL;
    g_autoptr(Envelope) envelope = NULL;
    GError *error = NULL;

    return_val_if_fail(spec && ret_envelope && flags == 0, -EINVAL);
    const Config *c;
    GPtrArray *warnings = g_ptr_array_new_with_free_func(g_free);
    Profile *profile;

    if (!config)
        defaults = config_new_default();
    c = config ? config->config : defaults;
    /* This machine's profile says nothing of another host's qemu. */
    profile =
        spec->spec->probe || !spec->local ? NULL : envelope_read_profile(c, spec->host, warnings);
    if (envelope_compute(spec->spec, spec->host, c, profile, warnings, &envelope, &error) < 0)
        return export_error(error, -1, reterr);
    *ret_envelope = g_new0(vmmem_envelope, 1);
    g_atomic_ref_count_init(&(*ret_envelope)->ref);
    g_atomic_ref_count_inc((gatomicrefcount *)&spec->ref);
    (*ret_envelope)->spec = (vmmem_spec *)spec;
    (*ret_envelope)->envelope = g_steal_pointer(&envelope);
    return 0;
}

uint64_t
vmmem_envelope_get_guest_ram(const vmmem_envelope *e)
{
    return e ? e->envelope->guest_ram : 0;
}

uint64_t
vmmem_envelope_get_hugetlb_ram(const vmmem_envelope *e)
{
    return e ? e->envelope->hugetlb_ram : 0;
}

uint64_t
vmmem_envelope_get_overhead(const vmmem_envelope *e)
{
    return e ? e->envelope->overhead : 0;
}

uint64_t
vmmem_envelope_get_memory_max(const vmmem_envelope *e)
{
    return e ? e->envelope->memory_max : 0;
}

uint64_t
vmmem_envelope_get_memory_high(const vmmem_envelope *e)
{
    return e ? e->envelope->memory_high : VMMEM_LIMIT_MAX;
}

uint64_t
vmmem_envelope_get_swap_max(const vmmem_envelope *e)
{
    return e ? e->envelope->swap_max : 0;
}

uint64_t
vmmem_envelope_get_memory_min(const vmmem_envelope *e)
{
    return e ? e->envelope->memory_min : 0;
}

uint64_t
vmmem_envelope_get_memory_low(const vmmem_envelope *e)
{
    return e ? e->envelope->memory_low : 0;
}

int
vmmem_envelope_get_oom_group(const vmmem_envelope *e)
{
    return e && e->envelope->oom_group ? 1 : 0;
}

size_t
vmmem_envelope_get_n_warnings(const vmmem_envelope *e)
{
    return e ? e->envelope->warnings->len : 0;
}

const char *
vmmem_envelope_get_warning(const vmmem_envelope *e, size_t index)
{
    if (index >= vmmem_envelope_get_n_warnings(e))
        return NULL;
    return g_ptr_array_index(e->envelope->warnings, index);
}

size_t
vmmem_envelope_get_n_components(const vmmem_envelope *e)
{
    if (!e || !e->envelope->breakdown)
        return 0;
    return e->envelope->breakdown->terms->len;
}

int
vmmem_envelope_get_component(const vmmem_envelope *e, size_t index, const char **ret_name,
                             uint64_t *ret_bytes, const char **ret_source)
{
    const OverheadTerm *t;

    return_val_if_fail(e, -EINVAL);
    if (index >= vmmem_envelope_get_n_components(e))
        return -ERANGE;
    t = &g_array_index(e->envelope->breakdown->terms, OverheadTerm, index);
    if (ret_name)
        *ret_name = t->name;
    if (ret_bytes)
        *ret_bytes = t->bytes;
    if (ret_source)
        *ret_source = t->source;
    return 0;
}

int
vmmem_envelope_get_component_basis(const vmmem_envelope *e, size_t index, const char **ret_basis)
{
    return_val_if_fail(e, -EINVAL);
    if (index >= vmmem_envelope_get_n_components(e))
        return -ERANGE;
    /* NULL: only asks whether @index exists, as vmmem_envelope_get_component() allows. */
    if (ret_basis)
        *ret_basis = g_array_index(e->envelope->breakdown->terms, OverheadTerm, index).basis;
    return 0;
}

int
vmmem_envelope_to_json(const vmmem_envelope *e, unsigned flags, char **ret_json,
                       vmmem_error **reterr)
{
    return_val_if_fail(e && ret_json && flags == 0, -EINVAL);
    *ret_json = envelope_to_json(e->envelope, e->spec->spec, e->spec->host);
    return 0;
}

vmmem_envelope *
vmmem_envelope_free(vmmem_envelope *e)
{
    if (e && g_atomic_ref_count_dec(&e->ref)) {
        envelope_free(e->envelope);
        vmmem_spec_free(e->spec);
        g_free(e);
    }
    return NULL;
}

/* ---- calibration ---- */

int
vmmem_calibration_new(const vmmem_envelope *envelope, unsigned flags,
                      vmmem_calibration **ret_calibration, vmmem_error **reterr)
{
    g_autoptr(GPtrArray) layout = NULL;
    GError *error = NULL;
    vmmem_calibration *c;

    return_val_if_fail(envelope && ret_calibration && flags == 0, -EINVAL);
    if (cal_layout_from_spec(envelope->spec->spec, &layout, &error) < 0)
        return export_error(error, -1, reterr);
    c = g_new0(vmmem_calibration, 1);
    g_atomic_ref_count_inc((gatomicrefcount *)&envelope->ref);
    c->envelope = (vmmem_envelope *)envelope;
    c->layout = g_steal_pointer(&layout);
    c->result = cal_result_new();
    *ret_calibration = c;
    return 0;
}

int
vmmem_calibration_sample(vmmem_calibration *c, const vmmem_scope *scope, pid_t qemu_pid,
                         unsigned flags, vmmem_error **reterr)
{
    g_auto(CalReading) reading = {0};
    GError *error = NULL;
    CalTexts texts;
    CalSample sample;
    gint64 now = g_get_monotonic_time();
    int r;

    return_val_if_fail(c && scope && qemu_pid > 0 && flags == 0 && !c->result->finished, -EINVAL);
    if (c->start_us == 0)
        c->start_us = now;
    if (cal_read_sample(scope->scope, qemu_pid, &reading, &error) < 0)
        return export_error(error, -1, reterr);
    texts = cal_reading_texts(&reading);
    r = cal_sample_from_texts(c->layout, &texts, (uint64_t)(now - c->start_us) / 1000, &sample,
                              &error);
    if (r == -EAGAIN) {
        cal_result_skip(c->result, error->message);
        g_clear_error(&error);
        return 0;
    }
    if (r < 0)
        return export_error(error, -1, reterr);
    cal_result_add(c->result, &sample);
    return 0;
}

int
vmmem_calibration_finish(vmmem_calibration *c, const vmmem_scope *scope, int qemu_status,
                         unsigned flags, vmmem_error **reterr)
{
    g_autofree char *peak = NULL, *events = NULL, *max = NULL;
    GError *error = NULL;
    uint64_t duration_ms;

    return_val_if_fail(c && scope && qemu_status >= -1 && qemu_status <= 255 && flags == 0 &&
                           !c->result->finished,
                       -EINVAL);
    duration_ms = c->start_us ? (uint64_t)(g_get_monotonic_time() - c->start_us) / 1000 : 0;
    if (cal_read_end(scope->scope, &peak, &events, &max, &error) < 0 ||
        cal_result_finish(c->result, peak, events, max, qemu_status, duration_ms, &error) < 0)
        return export_error(error, -1, reterr);
    return 0;
}

size_t
vmmem_calibration_get_n_samples(const vmmem_calibration *c)
{
    return c ? c->result->n_samples : 0;
}

size_t
vmmem_calibration_get_n_skipped(const vmmem_calibration *c)
{
    return c ? c->result->n_skipped : 0;
}

uint64_t
vmmem_calibration_get_duration_ms(const vmmem_calibration *c)
{
    return c ? c->result->duration_ms : 0;
}

uint64_t
vmmem_calibration_get_must_fit_peak(const vmmem_calibration *c, uint64_t *ret_at_ms)
{
    if (!c)
        return 0;
    if (ret_at_ms)
        *ret_at_ms = c->result->peak.t_ms;
    return c->result->peak.must_fit;
}

uint64_t
vmmem_calibration_get_peak_overhead(const vmmem_calibration *c)
{
    return c && c->result->n_samples ? cal_result_peak_overhead(c->result) : 0;
}

size_t
vmmem_calibration_get_n_parts(const vmmem_calibration *c)
{
    return c ? cal_n_parts : 0;
}

int
vmmem_calibration_get_part(const vmmem_calibration *c, size_t index, const char **ret_name,
                           uint64_t *ret_at_peak, uint64_t *ret_max)
{
    return_val_if_fail(c, -EINVAL);
    if (index >= cal_n_parts)
        return -ERANGE;
    if (ret_name)
        *ret_name = cal_parts[index].name;
    if (ret_at_peak)
        *ret_at_peak = cal_field(&c->result->peak, &cal_parts[index]);
    if (ret_max)
        *ret_max = cal_field(&c->result->max, &cal_parts[index]);
    return 0;
}

uint64_t
vmmem_calibration_get_reclaimable_peak(const vmmem_calibration *c)
{
    return c ? c->result->reclaim_peak.reclaimable : 0;
}

uint64_t
vmmem_calibration_get_guest_peak(const vmmem_calibration *c)
{
    return c ? c->result->guest_peak.guest_resident : 0;
}

uint64_t
vmmem_calibration_get_memory_peak(const vmmem_calibration *c)
{
    return c && c->result->has_memory_peak ? c->result->memory_peak : 0;
}

int
vmmem_calibration_to_json(const vmmem_calibration *c, unsigned flags, char **ret_json,
                          vmmem_error **reterr)
{
    return_val_if_fail(c && ret_json && flags == 0, -EINVAL);
    *ret_json = cal_result_to_json(c->result, c->envelope->envelope, c->envelope->spec->spec);
    return 0;
}

vmmem_calibration *
vmmem_calibration_free(vmmem_calibration *c)
{
    if (c) {
        vmmem_envelope_free(c->envelope);
        g_ptr_array_unref(c->layout);
        cal_result_free(c->result);
        g_free(c);
    }
    return NULL;
}

/* ---- the host profile ---- */

/* "QEMU emulator version 7.2.22 (Debian ...)": the first line qemu -version prints. */
static char *
qemu_version(const char *qemu)
{
    const char *argv[] = {qemu, "-version", NULL};
    g_autofree char *out = NULL;
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                      &status, NULL) ||
        !g_spawn_check_wait_status(status, NULL) || !out)
        return g_strdup("unknown");
    out[strcspn(out, "\n")] = '\0';
    return g_strdup(out);
}

static char *
utc_now(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();

    return g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
}

/* Writes @text to @path through a file beside it, so a reader never sees half of it. */
static int
write_atomically(const char *path, const char *text, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autoptr(GError) cause = NULL;

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        int e = errno;
        return vmmem_fail(error, e, "cannot create '%s': %s", dir, g_strerror(e));
    }
    if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &cause)) {
        int e = vmmem_errno_from_file_error(cause);
        return vmmem_fail(error, e, "cannot write '%s': %s", path, g_strerror(e));
    }
    return 0;
}

int
vmmem_calibration_save_profile(const vmmem_calibration *c, const vmmem_config *config,
                               const char *path, unsigned flags, vmmem_error **reterr)
{
    g_autoptr(Config) defaults = NULL;
    g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(Profile) profile = NULL;
    g_autofree char *now = utc_now(), *build_id = NULL, *version = NULL, *text = NULL;
    const VmSpec *spec;
    const HostInfo *host;
    const Envelope *e;
    const Config *cfg;
    uint64_t builtin[PROFILE_N_TERMS];
    ProfileMeasurement m = {0};
    GError *error = NULL;
    int fresh = 0;

    return_val_if_fail(c && flags == 0, -EINVAL);
    spec = c->envelope->spec->spec;
    host = c->envelope->spec->host;
    e = c->envelope->envelope;
    if (!config)
        defaults = config_new_default();
    cfg = config ? config->config : defaults;
    if (!path)
        path = cfg->profile_path;
    if (!path) {
        vmmem_fail(&error, EINVAL, "no profile path: the config says profile = none");
        return export_error(error, -1, reterr);
    }
    if (!c->result->finished) {
        vmmem_fail(&error, EINVAL, "the calibration has not finished: no figures to save");
        return export_error(error, -1, reterr);
    }
    if (spec->accel == VM_ACCEL_TCG) {
        vmmem_fail(&error, EINVAL,
                   "a TCG VM's overhead is its translation cache's: a profile fits the KVM "
                   "terms (calibrate the VM with -accel kvm)");
        return export_error(error, -1, reterr);
    }
    if (host_read_build_id(cfg->qemu_binary, &build_id, &error) < 0)
        return export_error(error, -1, reterr);

    overhead_profile_builtins(host, builtin);
    profile = profile_for_host(path, false, cfg->qemu_binary, host->kernel_release,
                               OVERHEAD_MODEL_VERSION, builtin, ignored);
    if (!profile) {
        version = qemu_version(cfg->qemu_binary);
        profile = profile_new(OVERHEAD_MODEL_VERSION, cfg->qemu_binary, version, build_id,
                              host->kernel_release, now);
        fresh = 1;
    }
    m.date = now;
    m.command = c->envelope->spec->command;
    m.guest_ram = spec->guest_ram + spec->hugetlb_ram;
    m.vcpus = MAX(spec->vcpus, spec->maxcpus);
    m.other = overhead_profile_other(e->breakdown);
    m.peak = cal_result_peak_overhead(c->result);
    profile_add(profile, &m, now, builtin);
    text = profile_to_text(profile);
    if (write_atomically(path, text, &error) < 0)
        return export_error(error, -1, reterr);
    return fresh;
}
