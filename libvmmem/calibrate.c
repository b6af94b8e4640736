/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calibration: texts of the scope's memory files and of /proc/PID/smaps in, a VM's real
 * overhead out (docs/json.md, "The calibrate JSON").  Pure. */
#include <stddef.h>
#include <string.h>

#include "calibrate.h"
#include "error.h"
#include "json-writer.h"
#include "size.h"

/* ---- guest RAM layout ---- */

static void
ram_block_free(gpointer p)
{
    CalRamBlock *b = p;

    g_free(b->label);
    g_free(b->path);
    g_free(b);
}

static void
add_block(GPtrArray *layout, const char *label, uint64_t size, VmRamKind kind, const char *path)
{
    CalRamBlock *b = g_new0(CalRamBlock, 1);

    b->label = g_strdup(label);
    b->size = size;
    b->kind = kind;
    b->path = g_strdup(path);
    g_ptr_array_add(layout, b);
}

int
cal_layout_from_spec(const VmSpec *spec, GPtrArray **ret_layout, GError **error)
{
    g_autoptr(GPtrArray) layout = g_ptr_array_new_with_free_func(ram_block_free);

    if (spec->probe)
        return vmmem_fail(error, EINVAL, "a probe command line has no guest RAM to calibrate");
    if (!spec->main_ram_backed)
        add_block(layout, "-m", spec->ram_size, spec->main_ram_kind, spec->mem_path);
    for (guint i = 0; i < spec->backends->len; i++) {
        const VmMemBackend *m = g_ptr_array_index(spec->backends, i);
        const char *path = NULL;

        /* qemu names every memfd after its type: "/memfd:memory-backend-memfd (deleted)". */
        if (strcmp(m->qom_type, "memory-backend-memfd") == 0)
            path = "/memfd:";
        else if (strcmp(m->qom_type, "memory-backend-file") == 0)
            path = m->mem_path;
        add_block(layout, m->id, m->size, m->kind, path);
    }
    *ret_layout = g_steal_pointer(&layout);
    return 0;
}

/* ---- memory.stat ---- */

typedef struct {
    const char *key;
    size_t offset;
    bool required;
} StatKey;

static const StatKey stat_keys[] = {
    {"anon", offsetof(CalStat, anon), true},
    {"file", offsetof(CalStat, file), true},
    {"shmem", offsetof(CalStat, shmem), true},
    {"kernel", offsetof(CalStat, kernel), false},
    {"kernel_stack", offsetof(CalStat, kernel_stack), false},
    {"pagetables", offsetof(CalStat, pagetables), false},
    {"sec_pagetables", offsetof(CalStat, sec_pagetables), false},
    {"slab", offsetof(CalStat, slab), false},
    {"slab_reclaimable", offsetof(CalStat, slab_reclaimable), false},
    {"percpu", offsetof(CalStat, percpu), false},
    {"sock", offsetof(CalStat, sock), false},
    {"file_dirty", offsetof(CalStat, file_dirty), false},
    {"file_writeback", offsetof(CalStat, file_writeback), false},
};

static size_t
stat_key_index(const char *key)
{
    size_t i = 0;

    while (strcmp(stat_keys[i].key, key) != 0)
        i++;
    return i;
}

int
cal_stat_parse(const char *text, CalStat *ret_stat, GError **error)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    bool seen[G_N_ELEMENTS(stat_keys)] = {false};
    uint64_t vmalloc = 0;
    CalStat st = {0};

    for (char **l = lines; *l; l++) {
        const char *space = strchr(*l, ' ');
        g_autofree char *key = NULL;
        uint64_t v;

        if (!space)
            continue;
        key = g_strndup(*l, space - *l);
        if (!g_ascii_string_to_unsigned(space + 1, 10, 0, G_MAXUINT64, &v, NULL))
            return vmmem_fail(error, EBADMSG, "memory.stat: bad line '%s'", *l);
        if (strcmp(key, "vmalloc") == 0)
            vmalloc = v;
        for (size_t i = 0; i < G_N_ELEMENTS(stat_keys); i++) {
            if (strcmp(key, stat_keys[i].key) == 0) {
                *(uint64_t *)((char *)&st + stat_keys[i].offset) = v;
                seen[i] = true;
            }
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(stat_keys); i++) {
        if (stat_keys[i].required && !seen[i])
            return vmmem_fail(error, EBADMSG, "memory.stat has no '%s' line", stat_keys[i].key);
    }
    st.has_sec_pagetables = seen[stat_key_index("sec_pagetables")];
    if (!seen[stat_key_index("kernel")])
        st.kernel =
            st.kernel_stack + st.pagetables + st.sec_pagetables + st.slab + st.percpu + vmalloc;
    *ret_stat = st;
    return 0;
}

/* ---- smaps ---- */

typedef struct {
    uint64_t size;
    char perms[5];
    const char *name; /* points into the text's lines */
    bool dont_fork;   /* VmFlags "dc": qemu madvises every RAM block MADV_DONTFORK */
    bool has_flags;
    uint64_t rss, anonymous, hugetlb;
    const CalRamBlock *block; /* the guest RAM block it is, once matched */
} Vma;

/* "7f43...-7f43... rw-p 00000000 00:00 0    NAME": start-end, perms, offset, device, inode,
 * then the name (none for anonymous memory), which may hold spaces. */
static bool
parse_vma_header(char *line, Vma *v)
{
    guint64 start, end;
    char *p, *endp;
    size_t n;

    start = g_ascii_strtoull(line, &endp, 16);
    if (endp == line || *endp != '-')
        return false;
    p = endp + 1;
    end = g_ascii_strtoull(p, &endp, 16);
    if (endp == p || *endp != ' ' || end < start)
        return false;
    p = endp + 1;
    if (strlen(p) < 5 || p[4] != ' ')
        return false;
    memset(v, 0, sizeof(*v));
    v->size = end - start;
    memcpy(v->perms, p, 4);
    p += 5;
    for (int field = 0; field < 2; field++) { /* offset, device */
        p = strchr(p, ' ');
        if (!p)
            return false;
        p++;
    }
    n = strspn(p, "0123456789"); /* inode */
    if (n == 0)
        return false;
    p += n;
    while (*p == ' ')
        p++;
    v->name = p;
    return true;
}

/* "Rss:    73728 kB" */
static bool
kb_field(const char *line, const char *key, uint64_t *acc)
{
    size_t n = strlen(key);
    guint64 kb;

    if (strncmp(line, key, n) != 0 || line[n] != ':')
        return false;
    kb = g_ascii_strtoull(line + n + 1, NULL, 10);
    *acc += kb * KiB;
    return true;
}

static void
vma_field(Vma *v, const char *line)
{
    if (kb_field(line, "Rss", &v->rss) || kb_field(line, "Anonymous", &v->anonymous) ||
        kb_field(line, "Shared_Hugetlb", &v->hugetlb) ||
        kb_field(line, "Private_Hugetlb", &v->hugetlb))
        return;
    if (g_str_has_prefix(line, "VmFlags:")) {
        g_auto(GStrv) flags = g_strsplit(line + strlen("VmFlags:"), " ", -1);
        v->has_flags = true;
        v->dont_fork = g_strv_contains((const char *const *)flags, "dc");
    }
}

static int
parse_smaps(char **lines, GArray *vmas, GError **error)
{
    Vma cur;
    bool in_vma = false;

    for (char **l = lines; *l; l++) {
        Vma next;

        if (!**l)
            continue;
        if (g_ascii_isxdigit(**l) && parse_vma_header(*l, &next)) {
            if (in_vma)
                g_array_append_val(vmas, cur);
            cur = next;
            in_vma = true;
            continue;
        }
        if (!in_vma)
            return vmmem_fail(error, EBADMSG, "not an smaps file: it starts with '%s'", *l);
        vma_field(&cur, *l);
    }
    if (in_vma)
        g_array_append_val(vmas, cur);
    return 0;
}

/* @path itself (maybe deleted since), or a file qemu made in that directory (-mem-path DIR). */
static bool
name_at(const char *name, const char *path)
{
    size_t n = strlen(path);

    return strncmp(name, path, n) == 0 &&
           (name[n] == '\0' || name[n] == '/' || strcmp(name + n, " (deleted)") == 0);
}

static bool
name_is(const char *name, const char *path)
{
    g_autofree char *tail = NULL;

    if (path[0] == '/')
        return name_at(name, path);
    /* A relative mem-path is relative to qemu's working folder, which smaps resolves. */
    tail = g_strconcat("/", path, NULL);
    for (const char *hit = strstr(name, tail); hit; hit = strstr(hit + 1, tail)) {
        if (name_at(hit + 1, path))
            return true;
    }
    return false;
}

static bool
vma_is_block(const Vma *v, const CalRamBlock *b)
{
    if (v->block || v->size != b->size || v->perms[0] != 'r' || v->perms[1] != 'w' ||
        v->perms[2] == 'x' || (v->has_flags && !v->dont_fork))
        return false;
    if (!b->path)
        return !*v->name || strcmp(v->name, "/dev/zero (deleted)") == 0;
    if (strcmp(b->path, "/memfd:") == 0)
        return g_str_has_prefix(v->name, "/memfd:");
    return name_is(v->name, b->path);
}

static bool
same_match(const CalRamBlock *a, const CalRamBlock *b)
{
    return a->size == b->size && g_strcmp0(a->path, b->path) == 0;
}

/* Blocks that look alike (same size, same naming) take as many mappings as there are of them,
 * in any order; anything else is a layout we cannot read with certainty. */
static int
match_blocks(GArray *vmas, const GPtrArray *layout, GError **error)
{
    for (guint i = 0; i < layout->len; i++) {
        const CalRamBlock *b = g_ptr_array_index(layout, i);
        guint want = 0, found = 0;
        bool done = false;

        for (guint j = 0; j < i && !done; j++)
            done = same_match(g_ptr_array_index(layout, j), b);
        if (done)
            continue;
        for (guint j = i; j < layout->len; j++)
            want += same_match(g_ptr_array_index(layout, j), b);
        for (guint k = 0; k < vmas->len; k++)
            found += vma_is_block(&g_array_index(vmas, Vma, k), b);
        if (found != want) {
            g_autofree char *size = vmmem_format_size(b->size);
            if (found == 0)
                return vmmem_fail(error, EAGAIN,
                                  "qemu has no mapping of exactly %s for guest RAM '%s'", size,
                                  b->label);
            return vmmem_fail(error, EAGAIN,
                              "qemu has %u mappings of exactly %s for %u guest RAM block(s) like "
                              "'%s': cannot tell them apart",
                              found, size, want, b->label);
        }
        for (guint j = i, k = 0; j < layout->len; j++) {
            const CalRamBlock *same = g_ptr_array_index(layout, j);
            if (!same_match(same, b))
                continue;
            while (!vma_is_block(&g_array_index(vmas, Vma, k), same))
                k++;
            g_array_index(vmas, Vma, k).block = same;
        }
    }
    return 0;
}

int
cal_smaps_add(const char *text, const GPtrArray *layout, CalMaps *maps, GError **error)
{
    g_autoptr(GArray) vmas = g_array_new(FALSE, FALSE, sizeof(Vma));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    CalMaps add = {0};
    int r;

    r = parse_smaps(lines, vmas, error);
    if (r < 0)
        return r;
    if (layout) {
        r = match_blocks(vmas, layout, error);
        if (r < 0)
            return r;
    }
    for (guint k = 0; k < vmas->len; k++) {
        const Vma *v = &g_array_index(vmas, Vma, k);
        uint64_t rest = v->rss > v->anonymous ? v->rss - v->anonymous : 0;

        if (!v->block) {
            add.other_anon += v->anonymous;
            if (v->perms[2] == 'x' && !*v->name)
                add.exec_anon += v->anonymous;
            continue;
        }
        /* A private file mapping's written pages are anonymous copies; only the rest is the
         * block's own kind. */
        add.guest_anon += v->anonymous;
        add.guest_hugetlb += v->hugetlb;
        if (v->block->kind == VM_RAM_FILE)
            add.guest_file += rest;
        else
            add.guest_shmem += rest;
    }
    maps->guest_anon += add.guest_anon;
    maps->guest_shmem += add.guest_shmem;
    maps->guest_file += add.guest_file;
    maps->guest_hugetlb += add.guest_hugetlb;
    maps->other_anon += add.other_anon;
    maps->exec_anon += add.exec_anon;
    return 0;
}

/* ---- one sample ---- */

static uint64_t
sub0(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

int
cal_sample_from_texts(const GPtrArray *layout, const CalTexts *texts, uint64_t t_ms,
                      CalSample *ret_sample, GError **error)
{
    CalStat before, after;
    CalMaps maps = {0};
    CalSample s = {0};
    uint64_t file, shmem, outside;
    int r;

    if (!texts->qemu_smaps)
        return vmmem_fail(error, EAGAIN, "qemu is not in the scope");
    if (!g_ascii_string_to_unsigned(texts->current, 10, 0, G_MAXUINT64, &s.memory_current, NULL))
        return vmmem_fail(error, EBADMSG, "bad memory.current '%s'", texts->current);
    if (texts->peak &&
        !g_ascii_string_to_unsigned(texts->peak, 10, 0, G_MAXUINT64, &s.memory_peak, NULL))
        return vmmem_fail(error, EBADMSG, "bad memory.peak '%s'", texts->peak);
    s.has_memory_peak = texts->peak != NULL;
    if ((r = cal_stat_parse(texts->stat_before, &before, error)) < 0 ||
        (r = cal_stat_parse(texts->stat_after, &after, error)) < 0 ||
        (r = cal_smaps_add(texts->qemu_smaps, layout, &maps, error)) < 0)
        return r;
    for (const char *const *o = texts->other_smaps; o && *o; o++) {
        r = cal_smaps_add(*o, NULL, &maps, error);
        if (r < 0)
            return r;
    }

    /* The guest may fault in hundreds of MiB/s while the smaps are read: a difference between
     * memory.stat and the smaps uses the smaller of the readings on either side of them, so
     * that growth cannot pass for overhead. */
    file = MIN(before.file, after.file);
    shmem = MIN(before.shmem, after.shmem);
    /* Page cache and shmem outside guest RAM.  Counting the guest's share by its kind's total
     * first keeps a misjudged kind (a "file" that lives on tmpfs) from moving guest RAM into
     * shmem. */
    outside = sub0(file, maps.guest_shmem + maps.guest_file);
    s.shmem = MIN(sub0(shmem, maps.guest_shmem), outside);
    s.slab_reclaimable = MIN(before.slab_reclaimable, after.slab_reclaimable);
    s.reclaimable = outside - s.shmem + s.slab_reclaimable;

    s.t_ms = t_ms;
    s.tcg_cache = maps.exec_anon;
    s.anon = maps.other_anon - maps.exec_anon;
    s.pagetables = after.pagetables;
    s.sec_pagetables = after.sec_pagetables;
    s.has_sec_pagetables = after.has_sec_pagetables;
    s.slab = sub0(after.slab, after.slab_reclaimable);
    s.percpu = after.percpu;
    s.kernel_stack = after.kernel_stack;
    s.kernel_other = sub0(after.kernel, after.pagetables + after.sec_pagetables + after.slab +
                                            after.percpu + after.kernel_stack);
    /* Rounding between the kernel's counters could leave the parts above the total. */
    s.kernel =
        s.pagetables + s.sec_pagetables + s.slab + s.percpu + s.kernel_stack + s.kernel_other;
    s.sock = after.sock;
    s.file_dirty = after.file_dirty;
    s.file_writeback = after.file_writeback;
    s.guest_anon = maps.guest_anon;
    s.guest_shmem = maps.guest_shmem;
    s.guest_file = maps.guest_file;
    s.guest_hugetlb = maps.guest_hugetlb;
    s.guest_resident = s.guest_anon + s.guest_shmem + s.guest_file;
    s.must_fit = s.anon + s.tcg_cache + s.kernel + s.sock + s.shmem;

    s.precharge = texts->precharge;
    s.reclaimable_hi = sub0(MAX(before.file, after.file), MIN(before.shmem, after.shmem));
    s.reclaimable_hi = sub0(s.reclaimable_hi, maps.guest_file) +
                       MAX(before.slab_reclaimable, after.slab_reclaimable);
    /* memory.stat just after memory.current: its page cache is no less than at that moment. */
    s.bound = sub0(s.memory_current, s.guest_resident +
                                         sub0(sub0(before.file, before.shmem), maps.guest_file) +
                                         before.slab_reclaimable + s.precharge);
    s.bound_source = s.bound ? "memory.current" : NULL;
    *ret_sample = s;
    return 0;
}

/* ---- the series ---- */

/* clang-format off */
#define FIELD(name) {#name, offsetof(CalSample, name)}
/* clang-format on */

const CalField cal_parts[] = {
    FIELD(anon),   FIELD(tcg_cache),    FIELD(pagetables),   FIELD(sec_pagetables), FIELD(slab),
    FIELD(percpu), FIELD(kernel_stack), FIELD(kernel_other), FIELD(sock),           FIELD(shmem),
};
const size_t cal_n_parts = G_N_ELEMENTS(cal_parts);

/* Every figure that has a largest value over the run.  The JSON's "must_fit" object lists
 * the parts from anon to shmem, its "max" object the figures from must_fit to memory_current. */
static const CalField max_fields[] = {
    FIELD(must_fit),     FIELD(anon),           FIELD(tcg_cache),      FIELD(kernel),
    FIELD(pagetables),   FIELD(sec_pagetables), FIELD(slab),           FIELD(percpu),
    FIELD(kernel_stack), FIELD(kernel_other),   FIELD(sock),           FIELD(shmem),
    FIELD(reclaimable),  FIELD(memory_current), FIELD(guest_resident), FIELD(guest_hugetlb),
};
#define MUST_FIT_FIRST 1
#define MUST_FIT_N     11
#define MAX_N          14

CalResult *
cal_result_new(void)
{
    CalResult *r = g_new0(CalResult, 1);

    r->qemu_status = -1;
    return r;
}

CalResult *
cal_result_free(CalResult *r)
{
    if (r) {
        g_free(r->last_skip);
        g_free(r);
    }
    return NULL;
}

/* memory.peak rose since the last sample (or is the first one's): it was reached at a moment
 * when guest RAM resident was at most what it is now, and the page cache (which nothing
 * shrinks while the VM has room) at most the larger of the two samples'. */
static void
add_peak_bound(const CalResult *r, CalSample *s)
{
    uint64_t cache = s->reclaimable_hi, b;

    if (!s->has_memory_peak || (r->n_samples > 0 && s->memory_peak <= r->last.memory_peak))
        return;
    if (r->n_samples > 0)
        cache = MAX(cache, r->last.reclaimable_hi);
    b = sub0(s->memory_peak, s->guest_resident + cache + s->precharge);
    if (b > s->bound) {
        s->bound = b;
        s->bound_source = "memory.peak";
    }
}

uint64_t
cal_result_peak_overhead(const CalResult *r)
{
    return MAX(r->peak.must_fit, r->bound_peak.bound);
}

void
cal_result_add(CalResult *r, const CalSample *sample)
{
    CalSample bounded = *sample, *s = &bounded;

    add_peak_bound(r, s);
    if (r->n_samples == 0) {
        r->first = r->peak = r->reclaim_peak = r->guest_peak = r->max = r->bound_peak = *s;
    } else {
        r->max_gap_ms = MAX(r->max_gap_ms, sub0(s->t_ms, r->last.t_ms));
        if (s->must_fit > r->peak.must_fit)
            r->peak = *s;
        if (s->reclaimable > r->reclaim_peak.reclaimable)
            r->reclaim_peak = *s;
        if (s->guest_resident > r->guest_peak.guest_resident)
            r->guest_peak = *s;
        if (s->bound > r->bound_peak.bound)
            r->bound_peak = *s;
        for (size_t i = 0; i < G_N_ELEMENTS(max_fields); i++) {
            uint64_t *m = (uint64_t *)((char *)&r->max + max_fields[i].offset);
            *m = MAX(*m, cal_field(s, &max_fields[i]));
        }
        r->max.has_sec_pagetables |= s->has_sec_pagetables;
    }
    r->last = *s;
    r->n_samples++;
}

void
cal_result_skip(CalResult *r, const char *reason)
{
    g_free(r->last_skip);
    r->last_skip = g_strdup(reason);
    r->n_skipped++;
}

static int
parse_limit(const char *file, const char *text, bool *ret_set, uint64_t *ret_value, GError **error)
{
    if (strcmp(text, "max") == 0) {
        *ret_set = false;
        *ret_value = 0;
        return 0;
    }
    if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, ret_value, NULL))
        return vmmem_fail(error, EBADMSG, "bad %s '%s'", file, text);
    *ret_set = true;
    return 0;
}

typedef struct {
    uint64_t max, oom, oom_kill;
} Events;

static int
parse_events(const char *text, Events *ret_events, GError **error)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    Events ev = {0};
    const struct {
        const char *key;
        uint64_t *value;
    } keys[] = {{"max", &ev.max}, {"oom", &ev.oom}, {"oom_kill", &ev.oom_kill}};

    for (char **l = lines; *l; l++) {
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
            size_t n = strlen(keys[i].key);
            if (strncmp(*l, keys[i].key, n) == 0 && (*l)[n] == ' ' &&
                !g_ascii_string_to_unsigned(*l + n + 1, 10, 0, G_MAXUINT64, keys[i].value, NULL))
                return vmmem_fail(error, EBADMSG, "memory.events: bad line '%s'", *l);
        }
    }
    *ret_events = ev;
    return 0;
}

int
cal_result_finish(CalResult *r, const char *peak_text, const char *events_text,
                  const char *max_text, int qemu_status, uint64_t duration_ms, GError **error)
{
    bool has_peak = false, has_max = false;
    uint64_t peak = 0, max = 0;
    Events ev = {0};
    int rc;

    if (r->n_samples == 0) {
        if (r->n_skipped == 0)
            return vmmem_fail(error, ENODATA, "no sample was taken");
        return vmmem_fail(error, ENODATA,
                          "no sample found the guest RAM in qemu's memory map (%u tried; the "
                          "last: %s)",
                          r->n_skipped, r->last_skip);
    }
    if ((peak_text && (rc = parse_limit("memory.peak", peak_text, &has_peak, &peak, error)) < 0) ||
        (rc = parse_limit("memory.max", max_text, &has_max, &max, error)) < 0 ||
        (rc = parse_events(events_text, &ev, error)) < 0)
        return rc;
    if (ev.max || ev.oom || ev.oom_kill)
        return vmmem_fail(error, ENOSPC,
                          "the VM reached the scope's memory.max (memory.events: max "
                          "%" G_GUINT64_FORMAT ", oom %" G_GUINT64_FORMAT
                          ", oom_kill %" G_GUINT64_FORMAT
                          "): figures under reclaim or after an OOM kill are not its own",
                          ev.max, ev.oom, ev.oom_kill);
    r->has_memory_peak = has_peak;
    r->memory_peak = peak;
    r->has_memory_max = has_max;
    r->memory_max = max;
    r->events_max = ev.max;
    r->events_oom = ev.oom;
    r->events_oom_kill = ev.oom_kill;
    r->qemu_status = qemu_status;
    r->duration_ms = duration_ms;
    r->finished = true;
    return 0;
}

/* ---- JSON ---- */

static void
json_fields(JsonWriter *w, const CalSample *s, const CalField *fields, size_t n, bool has_spt)
{
    for (size_t i = 0; i < n; i++) {
        bool spt = strcmp(fields[i].name, "sec_pagetables") == 0;
        json_member_u64_or_null(w, fields[i].name, !spt || has_spt, cal_field(s, &fields[i]));
    }
}

static void
json_must_fit(JsonWriter *w, const CalResult *r)
{
    const CalSample *p = &r->peak;

    json_begin_object(w);
    json_member_u64(w, "peak", p->must_fit);
    json_member_u64(w, "at_ms", p->t_ms);
    json_fields(w, p, max_fields + MUST_FIT_FIRST, MUST_FIT_N, p->has_sec_pagetables);
    json_end_object(w);
}

static void
json_bound(JsonWriter *w, const CalResult *r)
{
    const CalSample *b = &r->bound_peak;

    json_begin_object(w);
    json_member_u64(w, "peak", b->bound);
    json_member_u64(w, "at_ms", b->t_ms);
    json_member_str(w, "source", b->bound_source);
    json_member_u64(w, "precharge", b->precharge);
    json_end_object(w);
}

static void
json_reclaimable(JsonWriter *w, const CalResult *r)
{
    const CalSample *p = &r->reclaim_peak;

    json_begin_object(w);
    json_member_u64(w, "peak", p->reclaimable);
    json_member_u64(w, "at_ms", p->t_ms);
    json_member_u64(w, "slab_reclaimable", p->slab_reclaimable);
    json_member_u64(w, "file_dirty", p->file_dirty);
    json_member_u64(w, "file_writeback", p->file_writeback);
    json_end_object(w);
}

static void
json_guest(JsonWriter *w, const CalResult *r, const Envelope *e)
{
    json_begin_object(w);
    json_member_u64(w, "ram", e->guest_ram);
    json_member_u64(w, "resident_peak", r->guest_peak.guest_resident);
    json_member_u64(w, "anon", r->guest_peak.guest_anon);
    json_member_u64(w, "shmem", r->guest_peak.guest_shmem);
    json_member_u64(w, "file", r->guest_peak.guest_file);
    json_member_u64(w, "resident_end", r->last.guest_resident);
    json_member_u64(w, "hugetlb_ram", e->hugetlb_ram);
    json_member_u64(w, "hugetlb_resident_peak", r->max.guest_hugetlb);
    json_end_object(w);
}

char *
cal_result_to_json(const CalResult *r, const Envelope *e, const VmSpec *spec)
{
    bool fin = r->finished, any = r->n_samples > 0;
    JsonWriter w;

    json_writer_init(&w);
    json_begin_object(&w);
    json_member_bool(&w, "finished", fin);
    json_member_u64(&w, "samples", r->n_samples);
    json_member_u64(&w, "samples_skipped", r->n_skipped);
    json_member_u64_or_null(&w, "duration_ms", fin, r->duration_ms);
    json_member_u64_or_null(&w, "interval_ms", r->n_samples > 1,
                            r->n_samples > 1 ? (r->last.t_ms - r->first.t_ms) / (r->n_samples - 1)
                                             : 0);
    json_member_u64_or_null(&w, "max_gap_ms", r->n_samples > 1, r->max_gap_ms);
    json_member_u64_or_null(&w, "qemu_exit_status", fin && r->qemu_status >= 0,
                            (uint64_t)MAX(r->qemu_status, 0));
    json_member_u64_or_null(&w, "peak_overhead", any, any ? cal_result_peak_overhead(r) : 0);
    json_key(&w, "must_fit");
    if (any)
        json_must_fit(&w, r);
    else
        json_null(&w);
    json_key(&w, "bound");
    if (any)
        json_bound(&w, r);
    else
        json_null(&w);
    json_key(&w, "max");
    if (any) {
        json_begin_object(&w);
        json_fields(&w, &r->max, max_fields, MAX_N, r->max.has_sec_pagetables);
        json_end_object(&w);
    } else {
        json_null(&w);
    }
    json_key(&w, "reclaimable");
    if (any)
        json_reclaimable(&w, r);
    else
        json_null(&w);
    json_key(&w, "guest");
    if (any)
        json_guest(&w, r, e);
    else
        json_null(&w);
    json_member_u64_or_null(&w, "memory_peak", fin && r->has_memory_peak, r->memory_peak);
    json_member_u64_or_null(&w, "memory_peak_minus_guest", fin && r->has_memory_peak,
                            sub0(r->memory_peak, r->last.guest_resident));
    json_member_u64_or_null(&w, "memory_max", fin && r->has_memory_max, r->memory_max);
    json_key(&w, "events");
    if (fin) {
        json_begin_object(&w);
        json_member_u64(&w, "max", r->events_max);
        json_member_u64(&w, "oom", r->events_oom);
        json_member_u64(&w, "oom_kill", r->events_oom_kill);
        json_end_object(&w);
    } else {
        json_null(&w);
    }
    json_key(&w, "budget");
    json_begin_object(&w);
    json_member_u64(&w, "overhead", e->overhead);
    json_key(&w, "ratio");
    if (any && cal_result_peak_overhead(r) > 0)
        json_ratio(&w, (double)e->overhead / (double)cal_result_peak_overhead(r));
    else
        json_null(&w);
    json_end_object(&w);
    json_key(&w, "envelope");
    envelope_json_write(&w, e, spec, NULL);
    json_end_object(&w);
    return json_writer_finish(&w);
}
