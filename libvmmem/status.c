/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `vmmem status`, the pure half: one envelope's files in, its figures out; and the JSON. */
#include <errno.h>
#include <string.h>

#include "calibrate.h"
#include "cgroup-plan.h"
#include "error.h"
#include "json-writer.h"
#include "memory-files.h"
#include "status.h"

void
status_texts_clear(StatusTexts *t)
{
    g_free(t->path);
    g_free(t->label_vm);
    g_free(t->label_guest_ram);
    g_free(t->label_overhead);
    g_free(t->max);
    g_free(t->high);
    g_free(t->current);
    g_free(t->peak);
    g_free(t->swap_current);
    g_free(t->events);
    g_free(t->pressure);
    g_free(t->qemu_smaps);
    g_free(t->ksm_merging_pages);
    if (t->layout)
        g_ptr_array_unref(t->layout);
    memset(t, 0, sizeof(*t));
}

void
status_entry_clear(StatusEntry *e)
{
    g_free(e->path);
    g_free(e->name);
    g_free(e->kind);
    memset(e, 0, sizeof(*e));
}

/* A figure; "max" only where the kernel writes it (@max_ok: memory.max, memory.high). */
static int
figure(const char *text, const char *what, const char *path, bool max_ok, uint64_t *ret,
       GError **error)
{
    if (!text || !memory_limit_parse(text, ret) || (*ret == UINT64_MAX && !max_ok))
        return vmmem_fail(error, EBADMSG, "%s of '/%s' is not a number", what, path);
    return 0;
}

/* The last component: a libvirt domain's "qemu-1-web1.libvirt-qemu", a scope's
 * "vmmem-web1.scope". */
static const char *
last_component(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Resident guest RAM: what qemu's guest RAM mappings hold in memory (smaps), so that the
 * overhead in use is memory.current without it, however much of the guest's RAM it touched. */
static bool
guest_resident(const StatusTexts *t, uint64_t *ret)
{
    CalMaps maps = {0};
    g_autoptr(GError) ignored = NULL;

    if (!t->qemu_smaps || !t->layout ||
        cal_smaps_add(t->qemu_smaps, t->layout, &maps, &ignored) < 0)
        return false;
    *ret = maps.guest_anon + maps.guest_shmem + maps.guest_file;
    return true;
}

int
status_entry_from_texts(const StatusTexts *t, StatusEntry *ret_entry, GError **error)
{
    StatusEntry e = {0};
    vmmem_status_envelope *p = &e.pub;
    vmmem_pressure pressure;
    uint64_t v;
    int r;

    if ((r = figure(t->label_guest_ram, CGROUP_LABEL_GUEST_RAM, t->path, false, &p->guest_ram,
                    error)) < 0 ||
        (r = figure(t->label_overhead, CGROUP_LABEL_OVERHEAD, t->path, false, &p->overhead_budget,
                    error)) < 0 ||
        (r = figure(t->max, "memory.max", t->path, true, &p->memory_max, error)) < 0 ||
        (r = figure(t->high, "memory.high", t->path, true, &p->memory_high, error)) < 0 ||
        (r = figure(t->current, "memory.current", t->path, false, &p->memory_current, error)) < 0)
        return r;
    if (!t->events)
        return vmmem_fail(error, EBADMSG, "'/%s' has no memory.events", t->path);
    if (memory_events_parse(t->events, t->path, &p->events, error) < 0) {
        /* Whatever is missing, the file is not what the kernel writes. */
        if (error && *error)
            (*error)->code = EBADMSG;
        return -EBADMSG;
    }
    if (t->peak && (r = figure(t->peak, "memory.peak", t->path, false, &p->memory_peak, error)) < 0)
        return r;
    p->has_memory_peak = t->peak != NULL;
    if (t->swap_current && (r = figure(t->swap_current, "memory.swap.current", t->path, false,
                                       &p->swap_current, error)) < 0)
        return r;
    p->has_swap_current = t->swap_current != NULL;
    if (t->pressure && memory_pressure_parse(t->pressure, "some ", &pressure)) {
        p->has_pressure = 1;
        p->pressure_some_avg10 = pressure.avg10;
        if (memory_pressure_parse(t->pressure, "full ", &pressure))
            p->pressure_full_avg10 = pressure.avg10;
    }
    p->qemu_pid = t->qemu_pid;
    if (t->ksm_merging_pages && memory_limit_parse(t->ksm_merging_pages, &v) && v != UINT64_MAX) {
        p->has_ksm = 1;
        p->ksm_merging_pages = v;
    }
    if (guest_resident(t, &v)) {
        p->has_guest_resident = 1;
        p->guest_resident = v;
        p->overhead_used = p->memory_current > v ? p->memory_current - v : 0;
    }

    e.path = g_strdup(t->path);
    e.name = g_strdup(t->label_vm ? t->label_vm : last_component(t->path));
    /* vmmem's own scope, or a cgroup someone else made that vmmem sized (a libvirt domain's,
     * by vmmemd). */
    e.kind = g_strdup(cgroup_scope_name_is_ours(last_component(t->path)) ? "scope" : "cgroup");
    p->path = e.path;
    p->name = e.name;
    p->kind = e.kind;
    *ret_entry = e;
    return 0;
}

char *
status_to_json(const GArray *entries, uint64_t mem_total)
{
    JsonWriter w;
    uint64_t sum = 0;

    for (guint i = 0; i < entries->len; i++)
        sum += g_array_index(entries, StatusEntry, i).pub.memory_max;
    json_writer_init(&w);
    json_begin_object(&w);
    json_member_u64(&w, "version", 1);
    json_key(&w, "host");
    json_begin_object(&w);
    json_member_u64(&w, "mem_total", mem_total);
    json_member_u64(&w, "memory_max_sum", sum);
    json_member_u64(&w, "envelopes", entries->len);
    json_end_object(&w);
    json_key(&w, "envelopes");
    json_begin_array(&w);
    for (guint i = 0; i < entries->len; i++) {
        const vmmem_status_envelope *p = &g_array_index(entries, StatusEntry, i).pub;

        json_element(&w);
        json_begin_object(&w);
        json_member_str(&w, "name", p->name);
        json_member_str(&w, "path", p->path);
        json_member_str(&w, "kind", p->kind);
        json_member_u64_or_null(&w, "qemu_pid", p->qemu_pid > 0, (uint64_t)p->qemu_pid);
        json_member_u64(&w, "guest_ram", p->guest_ram);
        json_member_u64(&w, "overhead_budget", p->overhead_budget);
        json_member_u64(&w, "memory_max", p->memory_max);
        json_member_u64_or_null(&w, "memory_high", p->memory_high != UINT64_MAX, p->memory_high);
        json_member_u64(&w, "memory_current", p->memory_current);
        json_member_u64_or_null(&w, "memory_peak", p->has_memory_peak, p->memory_peak);
        json_member_u64_or_null(&w, "swap_current", p->has_swap_current, p->swap_current);
        json_member_u64_or_null(&w, "guest_resident", p->has_guest_resident, p->guest_resident);
        json_member_u64_or_null(&w, "overhead_used", p->has_guest_resident, p->overhead_used);
        json_member_ratio_or_null(
            &w, "overhead_used_ratio", p->has_guest_resident && p->overhead_budget > 0,
            p->overhead_budget ? (double)p->overhead_used / (double)p->overhead_budget : 0);
        json_key(&w, "events");
        json_begin_object(&w);
        json_member_u64(&w, "low", p->events.low);
        json_member_u64(&w, "high", p->events.high);
        json_member_u64(&w, "max", p->events.max);
        json_member_u64(&w, "oom", p->events.oom);
        json_member_u64(&w, "oom_kill", p->events.oom_kill);
        json_member_u64(&w, "oom_group_kill", p->events.oom_group_kill);
        json_end_object(&w);
        json_member_ratio_or_null(&w, "pressure_some_avg10", p->has_pressure,
                                  p->pressure_some_avg10);
        json_member_ratio_or_null(&w, "pressure_full_avg10", p->has_pressure,
                                  p->pressure_full_avg10);
        json_member_u64_or_null(&w, "ksm_merging_pages", p->has_ksm, p->ksm_merging_pages);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_end_object(&w);
    return json_writer_finish(&w);
}
