/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmmemd --metrics-listen PORT: the metrics over HTTP on 127.0.0.1, read at each scrape (the
 * textfile has them as of the last event).  Single-threaded like the rest of vmmemd: GIO's
 * socket service calls back in the main loop, and every read and write is asynchronous, so a
 * slow or silent client holds nothing up; it is dropped after 5 s.  Any request gets the
 * metrics: there is one document.
 */
#include <gio/gio.h>
#include <string.h>

#include "common.h"
#include "error.h"
#include "host.h"
#include "status.h"
#include "vmmemd-http.h"
#include "vmmemd-watch.h"

#define REQUEST_MAX      4096
#define CLIENT_TIMEOUT_S 5

typedef struct {
    GSocketConnection *conn;
    char buf[REQUEST_MAX];
    gsize len;
    char *response;
    guint timeout;
    GCancellable *cancel;
} Client;

static void
client_free(Client *c)
{
    if (c->timeout)
        g_source_remove(c->timeout);
    g_cancellable_cancel(c->cancel);
    g_object_unref(c->cancel);
    (void)g_io_stream_close(G_IO_STREAM(c->conn), NULL, NULL);
    g_object_unref(c->conn);
    g_free(c->response);
    g_free(c);
}

static gboolean
on_timeout(gpointer data)
{
    Client *c = data;
    c->timeout = 0;
    g_cancellable_cancel(c->cancel);
    return G_SOURCE_REMOVE;
}

static void
on_written(GObject *stream, GAsyncResult *res, gpointer data)
{
    (void)g_output_stream_write_all_finish(G_OUTPUT_STREAM(stream), res, NULL, NULL);
    client_free(data);
}

static char *
metrics_response(void)
{
    g_autoptr(HostInfo) host = NULL;
    g_autoptr(GArray) entries = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *body = NULL;

    if (host_info_read(&host, &error) < 0 || status_collect(NULL, host, &entries, &error) < 0) {
        g_autofree char *msg = g_strdup_printf("%s\n", error->message);
        return g_strdup_printf("HTTP/1.0 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                               "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                               strlen(msg), msg);
    }
    body = watcher_metrics_text(entries, host->physmem);
    return g_strdup_printf("HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           strlen(body), body);
}

static void
on_read(GObject *stream, GAsyncResult *res, gpointer data)
{
    Client *c = data;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(stream), res, NULL);

    if (n <= 0) {
        client_free(c);
        return;
    }
    c->len += (gsize)n;
    if (!g_strstr_len(c->buf, (gssize)c->len, "\r\n\r\n") &&
        !g_strstr_len(c->buf, (gssize)c->len, "\n\n")) {
        if (c->len >= sizeof(c->buf)) {
            client_free(c);
            return;
        }
        g_input_stream_read_async(G_INPUT_STREAM(stream), c->buf + c->len, sizeof(c->buf) - c->len,
                                  G_PRIORITY_DEFAULT, c->cancel, on_read, c);
        return;
    }
    c->response = metrics_response();
    g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(c->conn)),
                                    c->response, strlen(c->response), G_PRIORITY_DEFAULT, c->cancel,
                                    on_written, c);
}

static gboolean
on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
    Client *c = g_new0(Client, 1);

    c->conn = g_object_ref(conn);
    c->cancel = g_cancellable_new();
    c->timeout = g_timeout_add_seconds(CLIENT_TIMEOUT_S, on_timeout, c);
    g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(conn)), c->buf,
                              sizeof(c->buf), G_PRIORITY_DEFAULT, c->cancel, on_read, c);
    return TRUE;
}

int
metrics_http_start(unsigned port, GSocketService **ret_service, GError **error)
{
    g_autoptr(GSocketService) service = g_socket_service_new();
    g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(lo, (guint16)port);
    g_autoptr(GError) local = NULL;

    if (port == 0 || port > 65535)
        return vmmem_fail(error, EINVAL, "--metrics-listen: %u is not a port", port);
    if (!g_socket_listener_add_address(G_SOCKET_LISTENER(service), addr, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_TCP, NULL, NULL, &local))
        return vmmem_fail(error, EADDRINUSE, "--metrics-listen: 127.0.0.1:%u: %s", port,
                          local->message);
    g_signal_connect(service, "incoming", G_CALLBACK(on_incoming), NULL);
    g_socket_service_start(service);
    *ret_service = g_steal_pointer(&service);
    return 0;
}
