/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

/* The metrics over HTTP on 127.0.0.1:@port, in vmmemd's main loop (vmmemd-http.c). */
int metrics_http_start(unsigned port, GSocketService **ret_service, GError **error);
