// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The policy's cluster: section (DESIGN.md "Many gateways"): the NATS
 * servers, this gateway's name, the bucket, the credentials file. Only
 * checked and kept here; cluster/ connects.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "walk.h"

static const struct policy_cluster none;

const struct policy_cluster *policy_cluster(const struct policy *p)
{
	return p->cluster ? p->cluster : &none;
}

void policy_cluster_free(struct policy_cluster *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->nservers; i++)
		free((void *)(uintptr_t)c->servers[i]);
	free((void *)(uintptr_t)c->gateway);
	free((void *)(uintptr_t)c->bucket);
	free((void *)(uintptr_t)c->credentials);
	free((void *)(uintptr_t)c->ca);
	free(c);
}

static bool name_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

/* nats://HOST[:PORT] or tls://HOST[:PORT]. Returns NULL, or what is
 * wrong. */
static const char *url_check(const char *u, char *why, size_t size)
{
	const char *host, *end, *port = NULL;

	if (strncmp(u, "nats://", 7) && strncmp(u, "tls://", 6))
		return "a NATS URL starts nats:// or tls://";
	host = strstr(u, "://") + 3;
	if (strpbrk(host, "@"))
		return "user and password do not go in the URL; use "
		       "cluster.credentials";
	if (*host == '[') {
		end = strchr(host, ']');
		if (!end || end == host + 1)
			return "an IPv6 host goes in brackets: [2001:db8::1]";
		for (const char *c = host + 1; c < end; c++)
			if (!isxdigit((unsigned char)*c) && *c != ':' &&
			    *c != '.')
				return "not an IPv6 address in the brackets";
		end++;
		if (*end == ':')
			port = end + 1;
		else if (*end)
			return "after the host comes :PORT or nothing";
	} else {
		end = host + strcspn(host, ":/");
		if (end == host)
			return "no host";
		for (const char *c = host; c < end; c++)
			if (!isalnum((unsigned char)*c) && *c != '-' &&
			    *c != '.')
				return "a host name is letters, digits, '-' "
				       "and '.'";
		if (*end == ':')
			port = end + 1;
		else if (*end)
			return "after the host comes :PORT or nothing";
	}
	if (port) {
		uint64_t v;

		if (node_uint_parse(port, 65535, &v) != 0 || v == 0) {
			snprintf(why, size, "the port must be 1 to 65535");
			return why;
		}
	}
	return NULL;
}

static void walk_servers(struct walk *w, yaml_node_t *n,
			 struct policy_cluster *c)
{
	const yaml_node_t *seen[POLICY_CLUSTER_SERVERS_MAX];
	yaml_node_item_t *it, *start, *top;
	yaml_node_item_t one;
	char why[120], buf[80];
	size_t count;

	if (n->type == YAML_SCALAR_NODE) {
		/* One server, written as a string. */
		one = 0;
		start = &one;
		top = &one + 1;
	} else if (!node_want(w, n, YAML_SEQUENCE_NODE, "cluster.nats")) {
		return;
	} else {
		start = n->data.sequence.items.start;
		top = n->data.sequence.items.top;
	}
	count = (size_t)(top - start);
	if (!count || count > POLICY_CLUSTER_SERVERS_MAX) {
		node_error(w, n, "cluster.nats must list from 1 to %d NATS "
			   "servers, found %zu", POLICY_CLUSTER_SERVERS_MAX,
			   count);
		return;
	}
	for (it = start; it < top; it++) {
		yaml_node_t *s = n->type == YAML_SCALAR_NODE ? n :
				 node_get(w, *it);
		const char *bad;

		if (!node_want_scalar(w, s, "cluster.nats") ||
		    node_is_null(s)) {
			if (node_is_null(s))
				node_error(w, s, "cluster.nats: expected a "
					   "URL like nats://192.0.2.10:4222, "
					   "found nothing");
			continue;
		}
		bad = url_check(node_text(s), why, sizeof(why));
		if (bad && strchr(node_text(s), '@')) {
			/* Not echoed: it holds a password. */
			node_error(w, s, "cluster.nats: %s", bad);
			continue;
		}
		if (bad) {
			node_error(w, s, "cluster.nats: %s, found %s", bad,
				   node_found(s, buf, sizeof(buf)));
			continue;
		}
		for (unsigned i = 0; i < c->nservers; i++)
			if (!strcmp(c->servers[i], node_text(s))) {
				node_error(w, s, "cluster.nats: %s is listed "
					   "twice (first at line %u)",
					   node_text(s),
					   node_line0(seen[i]) + 1);
				bad = "twice";
			}
		if (bad)
			continue;
		seen[c->nservers] = s;
		c->servers[c->nservers] = strdup(node_text(s));
		if (!c->servers[c->nservers])
			load_oom(w->l);
		else
			c->nservers++;
	}
}

static char *host_gateway(void)
{
	char host[256] = "";
	size_t n;

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	for (n = 0; host[n] && n < 63; n++)
		if (!isalnum((unsigned char)host[n]) && !strchr("._-", host[n]))
			break;
	host[n] = '\0';
	return strdup(n ? host : "gateway");
}

static char *text_of(struct walk *w, yaml_node_t *n, const char *what,
		     size_t max, const char *extra, const char *expect)
{
	char buf[80];
	char *s;

	if (!node_want_scalar(w, n, what))
		return NULL;
	if (!name_ok(node_text(n), max, extra)) {
		node_error(w, n, "%s must be %s, found %s", what, expect,
			   node_found(n, buf, sizeof(buf)));
		return NULL;
	}
	s = strdup(node_text(n));
	if (!s)
		load_oom(w->l);
	return s;
}

/* A file named in the section: relative to the policy's folder. */
static const char *path_of(struct walk *w, yaml_node_t *n, const char *what,
			   const char *expect)
{
	const char *file;
	char *s = NULL;

	if (!node_want_scalar(w, n, what))
		return NULL;
	file = node_text(n);
	if (node_is_null(n) || !*file) {
		node_error(w, n, "%s: expected %s, found nothing", what, expect);
		return NULL;
	}
	if (file[0] == '/' || !w->l->dir)
		s = strdup(file);
	else if (asprintf(&s, "%s/%s", w->l->dir, file) < 0)
		s = NULL;
	if (!s)
		load_oom(w->l);
	return s;
}

void walk_cluster(struct walk *w, yaml_node_t *m)
{
	enum { NATS, GATEWAY, BUCKET, CREDENTIALS, CA };
	static const char *const keys[] = { "nats", "gateway", "bucket",
					    "credentials", "ca" };
	struct policy_cluster *c;
	struct fields f;

	if (!node_fields(w, m, "cluster", keys, 5, &f))
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		load_oom(w->l);
		return;
	}
	w->l->p->cluster = c;
	c->enabled = true;
	if (!f.val[NATS])
		node_error(w, m, "cluster: needs nats: the NATS servers, like "
			   "[nats://192.0.2.10:4222]");
	else
		walk_servers(w, f.val[NATS], c);
	if (f.val[GATEWAY])
		c->gateway = text_of(w, f.val[GATEWAY], "cluster.gateway", 63,
				     "._-", "1 to 63 letters, digits, '.', "
				     "'_' or '-'");
	else
		c->gateway = host_gateway();
	if (f.val[BUCKET])
		c->bucket = text_of(w, f.val[BUCKET], "cluster.bucket", 64,
				    "_-", "1 to 64 letters, digits, '_' or "
				    "'-' (a JetStream bucket name)");
	else
		c->bucket = strdup("portcullis");
	if (f.val[CREDENTIALS])
		c->credentials = path_of(w, f.val[CREDENTIALS],
					 "cluster.credentials",
					 "the path of a .creds file");
	if (f.val[CA])
		c->ca = path_of(w, f.val[CA], "cluster.ca",
				"the path of a PEM CA bundle");
	if ((!c->gateway && !f.val[GATEWAY]) || (!c->bucket && !f.val[BUCKET]))
		load_oom(w->l);
}
