/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Runs the fuzz target once on each file of the corpus directories given as arguments, so that
 * every seed (and every crash once fixed and added) stays a regression test in an ordinary
 * build, without libFuzzer. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *data = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &error)) {
        fprintf(stderr, "fuzz-replay: %s\n", error->message);
        return -1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    return 0;
}

static int
compare_paths(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
replay_dir(const char *dir, unsigned *ret_count)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &error);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    if (!d) {
        fprintf(stderr, "fuzz-replay: %s\n", error->message);
        return -1;
    }
    while ((name = g_dir_read_name(d)))
        g_ptr_array_add(names, g_build_filename(dir, name, NULL));
    /* Same order every run, so that a failure names the same file. */
    g_ptr_array_sort(names, compare_paths);
    for (guint i = 0; i < names->len; i++) {
        const char *path = g_ptr_array_index(names, i);

        if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
            continue;
        printf("replay %s\n", path);
        fflush(stdout);
        if (replay_file(path) < 0)
            return -1;
        (*ret_count)++;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    unsigned count = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS-DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (replay_dir(argv[i], &count) < 0)
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "fuzz-replay: no input files\n");
        return 1;
    }
    printf("replayed %u inputs\n", count);
    return 0;
}
