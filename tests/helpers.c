// SPDX-License-Identifier: GPL-2.0-or-later
/* What the Check suites share (tests/helpers.h). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers.h"

static struct policy *loaded(struct policy *p, struct policy_errors *errs,
			     const char *what)
{
	for (size_t i = 0; i < errs->count; i++)
		fprintf(stderr, "%s\n", errs->msg[i]);
	policy_errors_free(errs);
	ck_assert_msg(p != NULL, "policy failed to load:\n%s", what);
	return p;
}

struct policy *tests_policy(const char *yaml)
{
	struct policy_errors errs = { 0 };

	return loaded(policy_load_buffer("test.yaml", NULL, yaml,
					 strlen(yaml), &errs), &errs, yaml);
}

struct policy *tests_policy_file(const char *path,
				 const struct policy_exception *ex, size_t nex)
{
	struct policy_errors errs = { 0 };

	return loaded(policy_load_ex(path, ex, nex, &errs), &errs, path);
}

char *tests_fixture(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", TESTS_FIXTURES, name);
	return tests_slurp(path, NULL);
}

struct policy *tests_fixture_policy(const char *name, const char *more)
{
	struct policy_errors errs = { 0 };
	char path[256], *yaml;
	struct policy *p;

	snprintf(path, sizeof(path), "%s/%s", TESTS_FIXTURES, name);
	yaml = tests_slurp(path, NULL);
	if (more) {
		char *both;

		ck_assert_int_ge(asprintf(&both, "%s%s", yaml, more), 0);
		free(yaml);
		yaml = both;
	}
	p = policy_load_buffer(path, TESTS_FIXTURES, yaml, strlen(yaml),
			       &errs);
	loaded(p, &errs, yaml);
	free(yaml);
	return p;
}

char *tests_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0, cap = 4096;
	char *buf;

	ck_assert_msg(f != NULL, "cannot read %s (the unit tests run from "
		      "the repository root)", path);
	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	for (;;) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
		ck_assert_ptr_nonnull(buf);
	}
	ck_assert_msg(!ferror(f), "cannot read %s", path);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

size_t tests_count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

void tests_tmpfile(char *path, size_t size, const char *tag)
{
	int fd;

	ck_assert_int_lt(snprintf(path, size, "/tmp/portcullis-%s-XXXXXX",
				  tag), (int)size);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

void tests_dir_open(struct tests_dir *d, const char *tag)
{
	memset(d, 0, sizeof(*d));
	ck_assert_int_lt(snprintf(d->path, sizeof(d->path),
				  "/tmp/portcullis-%s-XXXXXX", tag),
			 (int)sizeof(d->path));
	ck_assert_ptr_nonnull(mkdtemp(d->path));
}

const char *tests_dir_put(struct tests_dir *d, const char *name,
			  const char *text)
{
	FILE *f;

	ck_assert_int_lt(snprintf(d->file, sizeof(d->file), "%s/%s", d->path,
				  name), (int)sizeof(d->file));
	f = fopen(d->file, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return d->file;
}

void tests_dir_close(struct tests_dir *d)
{
	DIR *dir = opendir(d->path);
	struct dirent *e;

	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		ck_assert_int_eq(unlinkat(dirfd(dir), e->d_name, 0), 0);
	}
	closedir(dir);
	ck_assert_int_eq(rmdir(d->path), 0);
}

bool tests_netns(const char *who)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "%s: skipped, needs root to make a network "
			"namespace\n", who);
		return false;
	}
	return true;
}

bool tests_under_valgrind(void)
{
	const char *pre = getenv("LD_PRELOAD");

	return pre && strstr(pre, "vgpreload");
}
