/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The thin direct layer under the cgroupfs backend: what libcgroup 2.0.2 lacks or gets wrong
 * (docs/cgroup-layout.md).  Every path is relative to a directory fd and opened with
 * O_NOFOLLOW, so nothing here can be steered outside the cgroup2 mount. */

/* Finds the cgroup2 mount that carries the memory controller (through libcgroup's mount table)
 * and opens it.  Refusals, one line each: no cgroup mounted, no memory controller, memory bound
 * to a cgroup v1 hierarchy (legacy or hybrid host), all -ENOMEDIUM. */
/* Controller files hold space-separated words ("cpu io memory pids"). */
bool cg_word_list_contains(const char *list, const char *word);
int cg_open_unified_root(char **ret_mount, int *ret_fd, GError **error);

/* The cgroup v2 path of @pid ("0::" line of /proc/PID/cgroup), without the leading '/'; "" for
 * the root.  @pid 0 means the caller. */
int cg_pid_cgroup(pid_t pid, char **ret_path, GError **error);
/* Pure: the same from the text of a /proc/PID/cgroup file.  -ENOMEDIUM without a "0::" line,
 * -ENOENT for a removed cgroup. */
int cg_parse_proc_cgroup(const char *text, char **ret_path, GError **error);

/* Reads a small cgroup file (first 4 KiB) into a NUL-terminated string, trailing newline
 * stripped.  @what names the cgroup in messages. */
int cg_read(int dirfd, const char *what, const char *file, char **ret_value, GError **error);
/* The whole file, as it is (memory.stat, cgroup.procs: they have no size limit). */
int cg_read_all(int dirfd, const char *what, const char *file, char **ret_value, GError **error);
/* Writes @value with one write() */
int cg_write(int dirfd, const char *what, const char *file, const char *value, GError **error);
/* "key value" files (memory.events, memory.stat, cgroup.events): the value of @key. */
int cg_read_keyed(int dirfd, const char *what, const char *file, const char *key,
                  uint64_t *ret_value, GError **error);

/* One extended attribute of the cgroup directory @dirfd (the user.vmmem.* labels), or NULL. */
char *cg_read_label(int dirfd, const char *name);

/* Opens a child directory of @dirfd (one path component or a relative path). */
int cg_open_dir(int dirfd, const char *what, const char *path, int *ret_fd, GError **error);

/* Makes sure every controller in @controllers (NULL-terminated, e.g. {"memory","pids"}) is in
 * the cgroup.subtree_control of @dirfd, writing only the missing ones (libcgroup 2.0.2 writes
 * unconditionally, which fails on read-only ancestors). */
int cg_enable_controllers(int dirfd, const char *what, const char *const *controllers,
                          GError **error);

/* True when the cgroup has no process and no child cgroup. */
int cg_is_empty(int dirfd, const char *what, bool *ret_empty, GError **error);

/* Kills everything in the cgroup (cgroup.kill) and waits up to @timeout_ms for it to empty. */
int cg_kill_and_wait(int dirfd, const char *what, unsigned timeout_ms, GError **error);
