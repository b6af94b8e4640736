/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

/* A child gets this long for the hello exchange and then its reply. */
#define VMMEMD_REQUEST_TIMEOUT_S 2

typedef struct {
    const char *config_path;
    bool config_explicit; /* given with --config: it must exist */
} VmmemdServeOptions;

/* In a child of vmmemd: the whole exchange with the peer @cred on @fd, one log line, the
 * reply.  Returns when done (the caller exits). */
void vmmemd_serve_connection(int fd, const struct ucred *cred, const VmmemdServeOptions *opts);

/* The reply that refuses at once, without a hello; never blocks. */
void vmmemd_refuse(int fd, int errnum, const char *message);
