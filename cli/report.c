// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullis report [FILE…] [--since T] [--until T] [--src PREFIX]
 * [--subscriber ID] [--top N] -o FILE.html: the abuse desk's report, one
 * self-contained HTML file, from the block logs portcullis log reads, in
 * one pass and the memory log --top takes (plus 128 bytes a subscriber
 * for its sparkline). The file is written beside its name and renamed
 * over it, so a reader never sees half of one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blocklog/blocklog.h"
#include "cli/cli.h"
#include "cli/logread.h"
#include "cli/report.h"

#define TOP_DEFAULT 50
#define TOP_MAX 10000

struct report_opts {
	struct blocklog_filter filter;
	unsigned long top;
	const char *out;
	int64_t now;
	char filters[1024];		/* the filters as given, for the page */
};

static const struct option report_opts[] = {
	CLI_LOG_FILTER_OPTS,
	{ "top", required_argument, NULL, 't' },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

/* Append "--NAME VALUE" to the filters the page names. */
static void note_filter(struct report_opts *o, const char *name,
			const char *value)
{
	size_t n = strlen(o->filters);

	snprintf(o->filters + n, sizeof(o->filters) - n, "%s--%s %s",
		 n ? " " : "", name, value);
}

/* a's options into o. Returns -1 to go on, else the exit code. */
static int parse_opts(struct cli_args *a, struct report_opts *o)
{
	const struct cli_cmd *c = a->cmd;
	const struct option *opt_of;
	int opt;

	while ((opt = cli_args_next(a)) > 0) {
		switch (opt) {
		case 's':
		case 'u':
		case 'S':
		case 'b':
			if (cli_log_filter_opt(c, opt, a->arg, o->now,
					       &o->filter))
				return 2;
			for (opt_of = report_opts; opt_of->val != opt; opt_of++)
				;
			note_filter(o, opt_of->name, a->arg);
			break;
		case 't':
			if (cli_count(c, "--top", a->arg, TOP_MAX,
				      &o->top))
				return 2;
			break;
		case 'o':
			if (!a->arg[0])
				return cli_fail(c, "-o: the file name is "
						"empty");
			o->out = a->arg;
			break;
		}
	}
	if (opt < 0)
		return a->exit;
	if (!o->out)
		return cli_fail(c, "-o FILE.html is needed: where to write the "
				"report (- for stdout)");
	return -1;
}

struct report_sink {
	const struct report_opts *o;
	struct blocklog_report *r;
};

static int report_line(void *ctx, const struct blocklog_line *l,
		       const char *raw, size_t len)
{
	const struct report_sink *k = ctx;

	(void)raw;
	(void)len;
	if (!blocklog_filter_match(&k->o->filter, l))
		return 0;
	return blocklog_report_add(k->r, l) < 0 ? -1 : 1;
}

/* Where the page goes: a temporary file beside o->out (renamed over it
 * by out_close), stdout, or o->out itself (tmp "") when that is a FIFO
 * or a device: renamed over, /dev/null would become a file, and a
 * reader of the FIFO would get nothing. NULL after saying why. */
static FILE *out_open(const struct report_opts *o, char *tmp, size_t len)
{
	struct stat st;
	FILE *f;
	mode_t mask;
	int fd;

	tmp[0] = '\0';
	if (!strcmp(o->out, "-"))
		return stdout;
	if (stat(o->out, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISDIR(st.st_mode)) {
		fd = open(o->out, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			fprintf(stderr, "portcullis report: %s: %s\n", o->out,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		return f;
	}
	if ((size_t)snprintf(tmp, len, "%s.XXXXXX", o->out) >= len) {
		fprintf(stderr, "portcullis report: %s: the name is too long\n",
			o->out);
		return NULL;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "portcullis report: %s: %s\n", o->out,
			strerror(errno));
		return NULL;
	}
	/* mkostemp's 0600 becomes what creating the file would give: 0666
	 * less the umask (a report names subscribers: the umask decides). */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "portcullis report: %s: %s\n", tmp,
			strerror(errno));
		close(fd);
		unlink(tmp);
		return NULL;
	}
	return f;
}

/* Finish the page: the temporary file flushed to disk and renamed over
 * o->out, or removed when failed. Returns 0, or -1 after saying why. */
static int out_close(const struct report_opts *o, FILE *f, const char *tmp,
		     bool failed)
{
	int err = 0;

	/* A page report_html could not write whole is a failure on stdout
	 * too: the flush after its error may well succeed. */
	if (f == stdout) {
		if (failed)
			return -1;
		if (fflush(stdout) == EOF) {
			fprintf(stderr, "portcullis report: -: %s\n",
				strerror(errno));
			return -1;
		}
		return 0;
	}
	if (!tmp[0]) {
		if (fflush(f) == EOF && !failed)
			err = errno;
		if (fclose(f) == EOF && !failed && !err)
			err = errno;
		if (err)
			fprintf(stderr, "portcullis report: %s: %s\n", o->out,
				strerror(err));
		return failed || err ? -1 : 0;
	}
	if (!failed && (fflush(f) == EOF || fsync(fileno(f)) < 0))
		err = errno;
	if (fclose(f) == EOF && !err)
		err = errno;
	if (!failed && !err && rename(tmp, o->out) < 0)
		err = errno;
	if (failed || err) {
		unlink(tmp);
		if (err)
			fprintf(stderr, "portcullis report: %s: %s\n", o->out,
				strerror(err));
		return -1;
	}
	return 0;
}

/* The page, from the figures read. Returns the exit code. */
static int write_report(const struct report_opts *o, struct blocklog_report *r,
			const struct blocklog_files *files,
			const struct cli_log_counts *counts)
{
	struct blocklog_agg *agg = blocklog_report_agg(r);
	struct blocklog_report_view v;
	struct report_meta m = {
		.filters = o->filters,
		.files = files,
		.counts = counts,
		.made_s = o->now,
		.at_s = o->now,
		.subscribers = blocklog_agg_count(agg),
	};
	char tmp[4096];
	FILE *f;
	bool failed;

	/* Quarantined as log --top says it: as of the period's end. */
	if (o->filter.has_until && o->filter.until_ms / 1000 < m.at_s)
		m.at_s = o->filter.until_ms / 1000;
	m.top = blocklog_agg_result(agg, m.at_s, o->top, &m.ntop);
	if ((!m.top && m.subscribers) || blocklog_report_view(r, &v) < 0) {
		fprintf(stderr, "portcullis report: out of memory\n");
		return 1;
	}
	f = out_open(o, tmp, sizeof(tmp));
	if (!f)
		return 1;
	failed = report_html(f, &m, r, &v) < 0;
	if (failed)
		fprintf(stderr, "portcullis report: %s: %s\n", o->out,
			strerror(errno));
	return out_close(o, f, tmp, failed) < 0 ? 1 : 0;
}

static int run_report(const struct cli_cmd *c, const struct cli_req *req,
		      int argc, char **argv)
{
	struct report_opts o = { .now = time(NULL), .top = TOP_DEFAULT };
	struct cli_args a;
	struct report_sink k = { .o = &o };
	struct cli_log_run run = { 0 };
	int ret;

	(void)req;
	cli_args_init(&a, c, argc, argv);
	ret = parse_opts(&a, &o);
	if (ret >= 0)
		return ret;
	ret = 1;
	k.r = blocklog_report_new();
	if (!k.r) {
		fprintf(stderr, "portcullis report: out of memory\n");
		goto out;
	}
	if (cli_log_run("report", a.noperands, a.operands, report_line, &k,
			&run) < 0)
		goto out;
	ret = write_report(&o, k.r, &run.files, run.counts);
	if (run.failed)
		ret = 1;
	cli_log_report_counts(&run.files, run.counts);
out:
	blocklog_report_free(k.r);
	cli_log_run_free(&run);
	return ret;
}

const struct cli_cmd cli_cmd_report = {
	.name = "report",
	.synopsis = "[FILE…] [--since T] [--until T] [--src PREFIX] "
		    "[--subscriber ID] [--top N] -o FILE.html",
	.help = "The abuse desk's report: one self-contained HTML file (no "
		"network, no external\nscript or font; the charts are SVG in "
		"the page) from the block logs\nportcullis log reads: by "
		"default " CLI_LOG_DEFAULT " and its\nrotations. It shows "
		"blocked SYNs over time by action with the quarantines\n"
		"marked, the top subscribers with their activity, each "
		"quarantine (why, until,\nhow it ended), blocks by port and "
		"profile, lines lost, fallback periods,\nand the filters and "
		"time span it covers.\n\n"
		"  --since T        from T on: RFC 3339, or a span back from now "
		"(30m, 1h, 7d)\n"
		"  --until T        before T, as --since\n"
		"  --src PREFIX     one IPv4 or IPv6 prefix\n"
		"  --subscriber ID  only the lines of this subscriber id\n"
		"  --top N          subscribers in the ranking, 1 to 10000 "
		"(default 50): as\n"
		"                   portcullis log --top N ranks them\n"
		"  -o, --output FILE  where to write it (- for stdout); "
		"written beside it and\n"
		"                   renamed over it when complete\n",
	.shortopts = "o:",
	.opts = report_opts,
	.max = CLI_ANY,
	.run = run_report,
};
