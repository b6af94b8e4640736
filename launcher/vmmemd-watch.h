/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdint.h>

/* vmmemd as the host agent (vmmemd(8), "Host agent"): it watches every envelope on the host in
 * its GLib main loop, with no timer while nothing happens: inotify on each envelope's
 * memory.events and cgroup.events, and on the parents new envelopes appear in.  One log line
 * per event, Prometheus metrics in a textfile, and vmmem's own scopes removed as soon as their
 * VM has exited. */

typedef struct Watcher Watcher;

typedef struct {
    /* The parent vmmem's scopes are made in (config "parent"). */
    const char *parent;
    /* Write the Prometheus text format here (atomically) after each change; NULL: none. */
    const char *metrics_path;
    /* Elastic overhead (config elastic-*): pool 0 is off. */
    uint64_t elastic_pool, elastic_step, elastic_ceiling;
} WatcherOptions;

/* Finds the envelopes there are and starts watching.  Fails (one line) when the cgroup2 tree
 * cannot be opened or inotify is not there. */
int watcher_start(const WatcherOptions *options, Watcher **ret_watcher, GError **error);
void watcher_free(Watcher *watcher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Watcher, watcher_free)

/* The metrics of @entries (StatusEntry) and the host, in Prometheus's text format. */
char *watcher_metrics_text(const GArray *entries, uint64_t mem_total);
