// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * STATE/cluster.BUCKET: where the watch resumes, and what a gateway must
 * hold before NATS answers — the live quarantines (its own and the other
 * gateways'; exceptions have their own state file) and its changes not
 * yet published. One line each:
 *
 *   portcullis-cluster 1 REVISION
 *   live {record JSON}
 *   queued {record JSON}
 *
 * Written whole, atomically (common/statefile.h). A file that cannot be
 * read is no failure of the daemon: the watch then starts from the
 * bucket's first record, which is a full reconcile.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/internal.h"
#include "common/statefile.h"

#define STATE_MAX_LINES (2 * CLUSTER_QUEUE_MAX + 1000000)

void cluster_state_free(struct cluster_state *s)
{
	free(s->quarantines);
	free(s->queued);
	memset(s, 0, sizeof(*s));
}

static int push(struct cluster_record **v, size_t *n,
		const struct cluster_record *r)
{
	/* Doubling at each power of two. */
	if ((*n & (*n - 1)) == 0) {
		struct cluster_record *nv =
			realloc(*v, (*n ? *n * 2 : 16) * sizeof(**v));

		if (!nv)
			return -1;
		*v = nv;
	}
	(*v)[(*n)++] = *r;
	return 0;
}

int cluster_state_load(const char *path, struct cluster_state *s,
		       char *err, size_t esize)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, why[160];
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, esize, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		struct cluster_record r;
		bool live;
		char *rest;

		if (++lineno > STATE_MAX_LINES) {
			snprintf(err, esize, "%s: more than %d lines", path,
				 STATE_MAX_LINES);
			ret = -1;
			break;
		}
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (lineno == 1) {
			if (sscanf(line, "portcullis-cluster 1 %" SCNu64,
				   &s->revision) != 1) {
				snprintf(err, esize, "%s:1: not a portcullis "
					 "cluster state file", path);
				ret = -1;
				break;
			}
			continue;
		}
		live = !strncmp(line, "live ", 5);
		if (!live && strncmp(line, "queued ", 7)) {
			snprintf(err, esize, "%s:%zu: expected live or queued",
				 path, lineno);
			ret = -1;
			break;
		}
		rest = line + (live ? 5 : 7);
		if (cluster_record_decode(rest, strlen(rest), NULL, &r, why,
					  sizeof(why)) < 0) {
			snprintf(err, esize, "%s:%zu: %s", path, lineno, why);
			ret = -1;
			break;
		}
		if (push(live ? &s->quarantines : &s->queued,
			 live ? &s->nquarantines : &s->nqueued, &r) < 0) {
			snprintf(err, esize, "%s: out of memory", path);
			ret = -1;
			break;
		}
	}
	if (ret == 0 && ferror(f)) {
		snprintf(err, esize, "%s: %s", path, strerror(errno));
		ret = -1;
	}
	free(line);
	fclose(f);
	if (ret < 0)
		cluster_state_free(s);
	return ret;
}

static int write_records(FILE *f, const char *word,
			 const struct cluster_record *v, size_t n)
{
	char buf[2048];

	for (size_t i = 0; i < n; i++) {
		int len = cluster_record_encode(&v[i], buf, sizeof(buf));

		if (len < 0)
			continue;
		if (fprintf(f, "%s %s\n", word, buf) < 0)
			return -1;
	}
	return 0;
}

int cluster_state_save(const char *path, const struct cluster_state *s)
{
	char tmp[4200];
	FILE *f = statefile_begin(path, tmp, sizeof(tmp));

	if (!f)
		return -1;
	if (fprintf(f, "portcullis-cluster 1 %" PRIu64 "\n", s->revision) < 0 ||
	    write_records(f, "live", s->quarantines, s->nquarantines) < 0 ||
	    write_records(f, "queued", s->queued, s->nqueued) < 0) {
		int err = errno;

		fclose(f);
		unlink(tmp);
		errno = err;
		return -1;
	}
	return statefile_commit(f, tmp, path);
}
