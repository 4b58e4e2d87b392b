/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Prometheus text over HTTP (libmicrohttpd), loopback by default. */
#ifndef PORTCULLIS_METRICS_H
#define PORTCULLIS_METRICS_H

#include "common/strbuf.h"

struct daemon;
struct metrics;

/* Serve GET /metrics on listen ("127.0.0.1:9638", "[::1]:9638").
 * Returns NULL with the reason in err. */
struct metrics *metrics_start(struct daemon *d, const char *listen,
			      char *err, size_t errlen);
void metrics_stop(struct metrics *m);

/* The whole exposition, as served. */
void metrics_text(struct daemon *d, struct strbuf *out);

#endif
