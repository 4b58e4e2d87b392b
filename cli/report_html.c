// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The report's HTML: every figure is text in the page, and every chart
 * is SVG written here, so it reads complete with scripts off. The only
 * script sorts a table by the header clicked; the page's CSP names it by
 * its hash and lets nothing be fetched. Every text from the log (ids,
 * profiles, gateways, file names) is escaped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"
#include "common/rfc3339.h"

/* Sorts the table whose header is clicked, by the cells' data-v when
 * they have one (numbers), else their text. Its sha256 is below: a test
 * checks the two agree (tests/report.sh). */
const char report_script[] =
	"document.querySelectorAll('table.sort th').forEach(function(th){"
	"th.tabIndex=0;th.title='sort';"
	"th.addEventListener('click',function(){"
	"var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,"
	"d=th.getAttribute('aria-sort')==='descending'?1:-1;"
	"t.querySelectorAll('th').forEach(function(h){"
	"h.removeAttribute('aria-sort');});"
	"th.setAttribute('aria-sort',d>0?'ascending':'descending');"
	"var k=function(r){var c=r.cells[i];"
	"return c?(c.dataset.v!==undefined?c.dataset.v:c.textContent):'';};"
	"Array.from(b.rows).sort(function(x,y){"
	"var p=k(x),q=k(y),n=Number(p)-Number(q);"
	"return d*(isNaN(n)||p===''||q===''?p.localeCompare(q):n);})"
	".forEach(function(r){b.appendChild(r);});});});";
const char report_script_sha256[] =
	"iHpr9qsg1czIdZAX5OK1pe17INHlybgujbcN/yragSM=";

static const char style[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;"
	"max-width:1200px;padding:0 16px 40px;color:#1d232a;background:#fff}"
	"h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 "
	"8px;border-bottom:1px solid #ccd;padding-bottom:4px}"
	"h3{font-size:15px;margin:16px 0 4px}"
	".meta{color:#556}nav a{margin-right:12px}"
	".cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}"
	".card{border:1px solid #ccd;border-radius:6px;padding:8px 12px;"
	"min-width:130px}.card b{display:block;font-size:20px}"
	"table{border-collapse:collapse;margin:6px 0}"
	"th,td{padding:3px 8px;border-bottom:1px solid #e3e3ea;"
	"text-align:left;vertical-align:middle}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	"td.t{white-space:nowrap}"
	"th{background:#f2f3f7;cursor:pointer;white-space:nowrap}"
	"th[aria-sort=ascending]::after{content:' \\25b2'}"
	"th[aria-sort=descending]::after{content:' \\25bc'}"
	".q{color:#b00020;font-weight:600}"
	".legend span{display:inline-block;margin-right:14px}"
	".legend i{display:inline-block;width:11px;height:11px;"
	"margin-right:4px;vertical-align:-1px}"
	"article{border-left:4px solid #b00020;padding:2px 12px;margin:12px 0}"
	"dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;"
	"margin:6px 0}dt{color:#556}dd{margin:0}"
	"svg text{font:11px system-ui,sans-serif;fill:#445}"
	"code{background:#f2f3f7;padding:0 3px}";

/* The colours of enum blocklog_series, and their names. */
static const char *const series_color[BLOCKLOG_S_N] = {
	"#c0392b", "#7d3c98", "#e69f00", "#56b4e9", "#2c3e50",
};
static const char *const series_name[BLOCKLOG_S_N] = {
	"rejected", "dropped", "monitor (passed, logged)",
	"summarized (not logged one by one)", "the kernel's quarantine rule",
};
static const char *const what_name[3] = { "rejected", "dropped", "monitor" };

/* Text as HTML: the five characters escaped, control bytes as '?'. */
static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s,
			      f);
		}
	}
}

/* n with thousands separated: "12,345". */
static const char *num(uint64_t n, char *buf, size_t len)
{
	char raw[32];
	size_t l, o = 0;

	l = (size_t)snprintf(raw, sizeof(raw), "%" PRIu64, n);
	for (size_t i = 0; i < l && o + 2 < len; i++) {
		if (i && (l - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
	return buf;
}

static void td_num(FILE *f, uint64_t n)
{
	char b[40];

	fprintf(f, "<td class=n data-v=\"%" PRIu64 "\">%s</td>", n,
		num(n, b, sizeof(b)));
}

static void td_ts(FILE *f, int64_t ms)
{
	char b[40];

	fprintf(f, "<td class=t data-v=\"%" PRId64 "\">%s</td>", ms,
		blocklog_ts_format(ms, b, sizeof(b)));
}

static const char *ts_s(int64_t s, char *buf, size_t len)
{
	return rfc3339_format(s, buf, len);
}

static const char *ts_ms(int64_t ms, char *buf, size_t len)
{
	return blocklog_ts_format(ms, buf, len);
}

/* A span of time for a person: "2 h 5 min", "3 d 4 h", "45 s". */
static const char *span(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (s < 120)
		snprintf(buf, len, "%" PRId64 " s", s);
	else if (s < 7200)
		snprintf(buf, len, "%" PRId64 " min", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, len, "%" PRId64 " h %" PRId64 " min", s / 3600,
			 s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 " d %" PRId64 " h", s / 86400,
			 s % 86400 / 3600);
	return buf;
}

/* ---- charts ------------------------------------------------------------- */

#define CHART_W 1000
#define CHART_H 240
#define CHART_L 64			/* room for the y axis' labels */
#define CHART_B 26			/* and the x axis' */
#define CHART_T 16			/* and the markers */
#define CHART_BARS 1500			/* at most; more: folded */

/* A round step for an axis up to max, about four of them. */
static uint64_t nice_step(uint64_t max)
{
	uint64_t step = 1;

	while (step * 10 <= max / 4 + 1)
		step *= 10;
	if (step * 5 <= max / 4 + 1)
		step *= 5;
	else if (step * 2 <= max / 4 + 1)
		step *= 2;
	return step ? step : 1;
}

/* The buckets of v folded by k (k slots of v's in one bar): at most
 * CHART_BARS bars, each the sum of its slots. Writes the bars' SVG. */
struct bar {
	int64_t start_ms;
	uint64_t syns[BLOCKLOG_S_N];
	uint64_t quarantines, releases;
};

/* x + y, UINT64_MAX past it: the counts may be as large as the parser
 * takes, and a sum of them must not wrap to a small one. */
static uint64_t sat_add64(uint64_t x, uint64_t y)
{
	return y > UINT64_MAX - x ? UINT64_MAX : x + y;
}

static uint64_t bar_total(const struct bar *b)
{
	uint64_t t = 0;

	for (unsigned s = 0; s < BLOCKLOG_S_N; s++)
		t = sat_add64(t, b->syns[s]);
	return t;
}

static const char *width_name(int64_t w, char *buf, size_t len)
{
	if (w == 60000)
		snprintf(buf, len, "minute");
	else if (w == 3600000)
		snprintf(buf, len, "hour");
	else if (w == 86400000)
		snprintf(buf, len, "day");
	else
		span(w, buf, len);
	return buf;
}

/* One bar of the time chart: its stack, markers, and a title saying
 * what it holds. */
static void chart_bar(FILE *f, const struct bar *b, double x, double w,
		      double scale, int64_t width_ms)
{
	double y = CHART_T + (CHART_H - CHART_T - CHART_B);
	char t[40], n[40];

	fprintf(f, "<g><title>%s, one %s: ", ts_ms(b->start_ms, t, sizeof(t)),
		width_name(width_ms, n, sizeof(n)));
	for (unsigned s = 0; s < BLOCKLOG_S_N; s++)
		if (b->syns[s])
			fprintf(f, "%s %s; ", num(b->syns[s], n, sizeof(n)),
				series_name[s]);
	if (b->quarantines)
		fprintf(f, "%" PRIu64 " quarantine%s; ", b->quarantines,
			b->quarantines == 1 ? "" : "s");
	if (b->releases)
		fprintf(f, "%" PRIu64 " release%s", b->releases,
			b->releases == 1 ? "" : "s");
	fputs("</title>", f);
	for (unsigned s = 0; s < BLOCKLOG_S_N; s++) {
		double h = (double)b->syns[s] * scale;

		if (!b->syns[s])
			continue;
		y -= h;
		fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
			"height=\"%.2f\" fill=\"%s\"/>", x, y, w, h,
			series_color[s]);
	}
	if (b->quarantines)
		fprintf(f, "<path d=\"M%.2f %d l-4 -8 h8 z\" fill=\"#b00020\"/>",
			x + w / 2, CHART_T - 2);
	if (b->releases)
		fprintf(f, "<path d=\"M%.2f %d l-4 8 h8 z\" fill=\"#1e8449\"/>",
			x + w / 2, CHART_T - 14 + (b->quarantines ? 0 : 4));
	fputs("</g>", f);
}

/* Fold v's buckets into bars of `per` buckets' width from t0. */
static size_t fold_bars(const struct blocklog_report_view *v, int64_t t0,
			int64_t width, struct bar *bars, size_t nbars)
{
	for (size_t i = 0; i < v->nbuckets; i++) {
		const struct blocklog_bucket *b = &v->buckets[i];
		size_t k = (size_t)((b->start_ms - t0) / width);

		if (k >= nbars)
			k = nbars - 1;
		for (unsigned s = 0; s < BLOCKLOG_S_N; s++)
			bars[k].syns[s] = sat_add64(bars[k].syns[s],
						    b->syns[s]);
		bars[k].quarantines += b->quarantines;
		bars[k].releases += b->releases;
	}
	for (size_t k = 0; k < nbars; k++)
		bars[k].start_ms = t0 + (int64_t)k * width;
	return nbars;
}

static void chart_axes(FILE *f, uint64_t max, uint64_t step, double scale,
		       int64_t t0, int64_t t1)
{
	int base = CHART_H - CHART_B;
	char b[40];

	for (uint64_t v = 0; v <= max; v += step) {
		double y = base - (double)v * scale;

		fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#e3e3ea\"/><text x=\"%d\" y=\"%.1f\" "
			"text-anchor=\"end\">%s</text>", CHART_L, CHART_W,
			y, y, CHART_L - 6, y + 4, num(v, b, sizeof(b)));
		if (max - v < step)
			break;
	}
	for (int i = 0; i <= 4; i++) {
		int64_t t = t0 + (t1 - t0) / 4 * i;
		double x = CHART_L + (double)(CHART_W - CHART_L) * i / 4;

		blocklog_ts_format(t, b, sizeof(b));
		/* To the minute, whatever the year's width: the bars' edges
		 * may pass 9999 or go before 0000. */
		*strrchr(b, ':') = '\0';
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">"
			"%sZ</text>", x, CHART_H - 8,
			i == 0 ? "start" : i == 4 ? "end" : "middle", b);
	}
}

static int chart_time(FILE *f, const struct blocklog_report_view *v)
{
	int64_t width = v->width_ms, t0, t1;
	size_t nbars;
	struct bar *bars;
	uint64_t max = 0, step;
	double scale, bw;
	char b[40];

	if (!v->nbuckets) {
		fputs("<p>No blocked SYN in the lines read.</p>", f);
		return 0;
	}
	t0 = v->buckets[0].start_ms;
	t1 = v->buckets[v->nbuckets - 1].start_ms + width;
	/* Hours past 60 days are drawn as days. */
	if ((t1 - t0) / width > CHART_BARS)
		width = 86400000;
	while ((t1 - t0) / width > CHART_BARS)
		width *= 2;
	t0 -= ((t0 % width) + width) % width;
	nbars = (size_t)((t1 - t0 + width - 1) / width);
	bars = calloc(nbars, sizeof(*bars));
	if (!bars)
		return -1;
	fold_bars(v, t0, width, bars, nbars);
	for (size_t i = 0; i < nbars; i++)
		if (bar_total(&bars[i]) > max)
			max = bar_total(&bars[i]);
	step = nice_step(max);
	/* Up to a whole step, unless that is past UINT64_MAX. */
	if (max % step && max / step < UINT64_MAX / step)
		max = (max / step + 1) * step;
	scale = (double)(CHART_H - CHART_T - CHART_B) / (double)(max ? max : 1);
	bw = (double)(CHART_W - CHART_L) / (double)nbars;
	fprintf(f, "<p class=meta>One bar a %s, %zu bars. The marks above "
		"the bars: <span style=\"color:#b00020\">&#9660;</span> "
		"quarantines began, <span style=\"color:#1e8449\">&#9650;"
		"</span> quarantines ended. Hover a bar for its figures.</p>",
		width_name(width, b, sizeof(b)), nbars);
	fprintf(f, "<svg id=chart-time viewBox=\"0 0 %d %d\" width=\"100%%\" "
		"role=img aria-label=\"blocked SYNs over time\">", CHART_W,
		CHART_H);
	chart_axes(f, max, step, scale, t0, t0 + (int64_t)nbars * width);
	for (size_t i = 0; i < nbars; i++)
		if (bar_total(&bars[i]) || bars[i].quarantines ||
		    bars[i].releases)
			chart_bar(f, &bars[i], CHART_L + bw * (double)i,
				  bw > 1.5 ? bw * 0.85 : bw, scale, width);
	fputs("</svg><p class=legend>", f);
	for (unsigned s = 0; s < BLOCKLOG_S_N; s++) {
		fprintf(f, "<span><i style=\"background:%s\"></i>%s: ",
			series_color[s], series_name[s]);
		fprintf(f, "%s</span>", num(v->syns[s], b, sizeof(b)));
	}
	fputs("</p>", f);
	free(bars);
	return 0;
}

/* The slots of the grid the lines fall in: [*lo, *hi]. */
static void spark_range(struct blocklog_grid g,
			const struct blocklog_report_view *v, unsigned *lo,
			unsigned *hi)
{
	int64_t a = g.width_ms ? (v->first_ms - g.t0_ms) / g.width_ms : 0;
	int64_t b = g.width_ms ? (v->last_ms - g.t0_ms) / g.width_ms : 0;

	*lo = a < 0 ? 0 : a >= BLOCKLOG_SPARK ? BLOCKLOG_SPARK - 1 : (unsigned)a;
	*hi = b < *lo ? *lo : b >= BLOCKLOG_SPARK ? BLOCKLOG_SPARK - 1 :
	      (unsigned)b;
}

/* A sparkline: the row's counts on the aggregate's grid, as bars, the
 * slots the report's lines span; with a quarantine (q_from < q_to, ms),
 * its time shaded. */
static void sparkline(FILE *f, const uint32_t *spark, struct blocklog_grid g,
		      const struct blocklog_report_view *v, int w, int h,
		      int64_t q_from, int64_t q_to)
{
	uint32_t max = 0;
	unsigned lo, hi;
	double bw, t0, span_ms;
	char a[40], b[40], c[40];

	if (!spark || !g.width_ms)
		return;
	spark_range(g, v, &lo, &hi);
	bw = (double)w / (hi - lo + 1);
	t0 = (double)g.t0_ms + (double)lo * (double)g.width_ms;
	span_ms = (double)(hi - lo + 1) * (double)g.width_ms;
	for (unsigned i = lo; i <= hi; i++)
		if (spark[i] > max)
			max = spark[i];
	fprintf(f, "<svg class=spark viewBox=\"0 0 %d %d\" width=\"%d\" "
		"height=\"%d\" role=img><title>blocked SYNs from %s to %s, "
		"one bar a %s; the highest: %" PRIu32 "</title>", w, h, w, h,
		ts_ms((int64_t)t0, a, sizeof(a)),
		ts_ms((int64_t)(t0 + span_ms), b, sizeof(b)),
		span(g.width_ms, c, sizeof(c)), max);
	if (q_from < q_to) {
		double x0 = ((double)q_from - t0) / span_ms * w;
		double x1 = ((double)q_to - t0) / span_ms * w;

		x0 = x0 < 0 ? 0 : x0 > w ? w : x0;
		x1 = x1 < 0 ? 0 : x1 > w ? w : x1;
		fprintf(f, "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" "
			"height=\"%d\" fill=\"#f6d5da\"/>", x0,
			x1 - x0 < 1 ? 1 : x1 - x0, h);
	}
	for (unsigned i = lo; i <= hi && max; i++) {
		double bh = (double)spark[i] / max * (h - 1);

		if (spark[i])
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				"height=\"%.1f\" fill=\"#c0392b\"/>",
				(i - lo) * bw, h - bh, bw * 0.8,
				bh < 1 ? 1 : bh);
	}
	fputs("</svg>", f);
}

/* ---- sections ----------------------------------------------------------- */

static void head(FILE *f, const struct blocklog_report_view *v)
{
	char a[40], b[40];

	fprintf(f, "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
		"<meta http-equiv=Content-Security-Policy content=\""
		"default-src 'none'; style-src 'unsafe-inline'; "
		"script-src 'sha256-%s'; img-src data:; base-uri 'none'; "
		"form-action 'none'\"><meta name=viewport content=\""
		"width=device-width\"><title>portcullis report",
		report_script_sha256);
	if (v->first_ms <= v->last_ms)
		fprintf(f, ": %s to %s", ts_ms(v->first_ms, a, sizeof(a)),
			ts_ms(v->last_ms, b, sizeof(b)));
	fprintf(f, "</title><style>%s</style></head><body>\n", style);
}

static void card(FILE *f, const char *id, uint64_t n, const char *what)
{
	char b[40];

	fprintf(f, "<div class=card id=\"%s\" data-v=\"%" PRIu64 "\"><b>%s"
		"</b>%s</div>", id, n, num(n, b, sizeof(b)), what);
}

static uint64_t total_syns(const struct blocklog_report_view *v)
{
	uint64_t t = 0;

	for (unsigned s = 0; s < BLOCKLOG_S_N; s++)
		t = sat_add64(t, v->syns[s]);
	return t;
}

static void summary(FILE *f, const struct report_meta *m,
		    const struct blocklog_report_view *v, uint64_t lost,
		    uint64_t malformed)
{
	char a[40], b[40], c[40];
	size_t quarantined = 0;

	for (size_t i = 0; i < m->ntop; i++)
		quarantined += m->top[i].quarantined;
	fputs("<h1>portcullis report</h1><p class=meta id=span>", f);
	if (v->first_ms <= v->last_ms)
		fprintf(f, "From <b>%s</b> to <b>%s</b> (%s), ",
			ts_ms(v->first_ms, a, sizeof(a)),
			ts_ms(v->last_ms, b, sizeof(b)),
			span(v->last_ms - v->first_ms, c, sizeof(c)));
	else
		fputs("No line matched. ", f);
	fprintf(f, "made %s", ts_s(m->made_s, a, sizeof(a)));
	if (m->filters[0]) {
		fputs(", with <code>", f);
		esc(f, m->filters);
		fputs("</code>", f);
	}
	fputs(".</p><nav><a href=\"#time\">over time</a><a href=\"#top\">"
	      "top subscribers</a><a href=\"#quarantines\">quarantines</a>"
	      "<a href=\"#ports\">ports and profiles</a><a href=\"#health\">"
	      "lines lost, fallback</a><a href=\"#made\">how it was made</a>"
	      "</nav><div class=cards>", f);
	card(f, "total-blocked", total_syns(v), "blocked SYNs");
	card(f, "total-subscribers", m->subscribers, "subscribers blocked");
	card(f, "total-quarantines", v->quarantines_total, "quarantines");
	card(f, "total-quarantined", quarantined,
	     "of the top, quarantined now");
	card(f, "total-lost", lost, "lines lost by the daemon");
	card(f, "total-malformed", malformed, "malformed lines skipped");
	card(f, "total-fallback", v->fallbacks_total, "fallback periods");
	fputs("</div>\n", f);
}

static void top_table(FILE *f, const struct report_meta *m,
		      struct blocklog_report *r,
		      const struct blocklog_report_view *v)
{
	struct blocklog_grid g = blocklog_agg_grid(blocklog_report_agg(r));
	char name[160], a[40];

	fprintf(f, "<h2 id=top>Top subscribers</h2><p class=meta>The %zu "
		"with the most blocked SYNs of %zu: by subscriber id where "
		"the lines name one, else by address (IPv6: its /64), ranked "
		"as <code>portcullis log --top</code> ranks them. Blocked: "
		"block lines plus the summaries' counts; destinations: the "
		"distinct destinations of the block lines. Click a header to "
		"sort.</p>", m->ntop, m->subscribers);
	if (!m->ntop)
		return;
	fputs("<table class=sort id=top-table><thead><tr><th class=n>#</th>"
	      "<th>subscriber</th><th>address</th><th class=n>blocked</th>"
	      "<th class=n>destinations</th><th>first seen</th>"
	      "<th>last seen</th><th>quarantined</th><th class=n>"
	      "quarantines</th><th>activity</th></tr></thead><tbody>", f);
	for (size_t i = 0; i < m->ntop; i++) {
		const struct blocklog_sub *s = &m->top[i];

		fprintf(f, "<tr data-rank=\"%zu\"><td class=n data-v=\"%zu\">"
			"%zu</td><td class=name>", i + 1, i + 1, i + 1);
		esc(f, blocklog_sub_name(s, name, sizeof(name)));
		fputs("</td><td class=addr>", f);
		if (s->subscriber)
			esc(f, addr_format(&s->addr, name, sizeof(name)));
		fputs("</td>", f);
		td_num(f, s->blocked);
		td_num(f, s->distinct);
		td_ts(f, s->first_ms);
		td_ts(f, s->last_ms);
		if (s->quarantined)
			fprintf(f, "<td class=q data-v=\"%s\">until %s</td>",
				ts_s(s->quarantine_until, a, sizeof(a)), a);
		else
			fputs("<td data-v=\"\">no</td>", f);
		td_num(f, s->quarantines);
		fputs("<td>", f);
		sparkline(f, s->spark, g, v, 128, 22, 0, 0);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>", f);
}

/* How quarantine q ended, as the lines say, as of at_s. */
static void ended(FILE *f, const struct blocklog_report_quarantine *q,
		  int64_t at_s)
{
	char t[40];

	if (q->released) {
		fprintf(f, "%s at %s",
			!q->has_reason ? "released" :
			q->reason == BLOCKLOG_RELEASE_MANUAL ?
			"released by hand (portcullis release)" :
			q->reason == BLOCKLOG_RELEASE_CLUSTER ?
			"released by another gateway" : "expired",
			ts_ms(q->release_ms, t, sizeof(t)));
		if (q->release_gateway[0]) {
			fputs(" (", f);
			esc(f, q->release_gateway);
			fputs(")", f);
		}
	} else if (q->superseded) {
		fprintf(f, "extended at %s (a later quarantine line)",
			ts_ms(q->release_ms, t, sizeof(t)));
	} else if (q->until > at_s) {
		fputs("<span class=q>in force</span> where the lines end", f);
	} else {
		fprintf(f, "ended at its until, %s (no release line read)",
			ts_s(q->until, t, sizeof(t)));
	}
}

static const char *q_name(struct blocklog_report *r,
			  const struct blocklog_report_quarantine *q,
			  char *buf, size_t len)
{
	const struct blocklog_sub *s =
		blocklog_agg_row(blocklog_report_agg(r), q->row);

	return s ? blocklog_sub_name(s, buf, len) : "?";
}

static void q_section(FILE *f, struct blocklog_report *r,
		      const struct blocklog_report_view *v,
		      const struct blocklog_report_quarantine *q, size_t n,
		      int64_t at_s)
{
	struct blocklog_agg *agg = blocklog_report_agg(r);
	const struct blocklog_sub *s = blocklog_agg_row(agg, q->row);
	char name[160], t[40], b[40], c[40];
	int64_t end = q->released || q->superseded ? q->release_ms :
		      q->until * 1000;

	fprintf(f, "<article id=\"q-%zu\"><h3>", n);
	esc(f, q_name(r, q, name, sizeof(name)));
	fprintf(f, " quarantined at %s</h3><dl><dt>why</dt><dd>%s SYNs to "
		"%s distinct destinations", ts_ms(q->ts_ms, t, sizeof(t)),
		num(q->syns, b, sizeof(b)), num(q->distinct, c, sizeof(c)));
	if (q->window_s)
		fprintf(f, " within its detection window of %s",
			span((int64_t)q->window_s * 1000, b, sizeof(b)));
	fprintf(f, "</dd><dt>until</dt><dd>%s</dd><dt>ended</dt><dd>",
		ts_s(q->until, t, sizeof(t)));
	ended(f, q, at_s);
	fputs("</dd><dt>by</dt><dd>", f);
	if (q->gateway[0]) {
		fputs("gateway ", f);
		esc(f, q->gateway);
	} else {
		fputs("this gateway's detection", f);
	}
	fputs("</dd>", f);
	if (s) {
		fprintf(f, "<dt>the subscriber</dt><dd>%s blocked SYNs to %s "
			"destinations, from %s to %s; %" PRIu32 " quarantine%s"
			"</dd>", num(s->blocked, b, sizeof(b)),
			num(s->distinct, c, sizeof(c)),
			ts_ms(s->first_ms, t, sizeof(t)),
			ts_ms(s->last_ms, name, sizeof(name)), s->quarantines,
			s->quarantines == 1 ? "" : "s");
		fputs("<dt>timeline</dt><dd>", f);
		sparkline(f, blocklog_agg_spark_of(agg, q->row),
			  blocklog_agg_grid(agg), v, 480, 40, q->ts_ms, end);
		fputs(" <span class=meta>(shaded: the quarantine)</span></dd>",
		      f);
	}
	fputs("</dl></article>\n", f);
}

static void quarantines(FILE *f, const struct report_meta *m,
			struct blocklog_report *r,
			const struct blocklog_report_view *v)
{
	size_t n = v->nquarantines, shown = n < REPORT_SECTIONS ? n :
		   REPORT_SECTIONS;
	char name[160], b[40];

	fprintf(f, "<h2 id=quarantines>Quarantines</h2><p class=meta>%s "
		"quarantine line%s", num(v->quarantines_total, b, sizeof(b)),
		v->quarantines_total == 1 ? "" : "s");
	if (v->quarantines_total > n)
		fprintf(f, "; the latest %zu are kept here", n);
	fprintf(f, ". The latest %zu in full, the newest first; all of "
		"those kept in the table after them.</p>", shown);
	for (size_t i = 0; i < shown; i++)
		q_section(f, r, v, &v->quarantines[n - 1 - i], n - i, m->at_s);
	if (!n)
		return;
	fputs("<table class=sort id=quarantine-table><thead><tr><th>when</th>"
	      "<th>subscriber</th><th class=n>SYNs</th><th class=n>"
	      "destinations</th><th>until</th><th>ended</th><th>by</th>"
	      "</tr></thead><tbody>", f);
	for (size_t i = n; i-- > 0;) {
		const struct blocklog_report_quarantine *q =
			&v->quarantines[i];

		fputs("<tr>", f);
		td_ts(f, q->ts_ms);
		fputs("<td>", f);
		esc(f, q_name(r, q, name, sizeof(name)));
		fputs("</td>", f);
		td_num(f, q->syns);
		td_num(f, q->distinct);
		fprintf(f, "<td>%s</td><td>", ts_s(q->until, b, sizeof(b)));
		ended(f, q, m->at_s);
		fputs("</td><td>", f);
		esc(f, q->gateway[0] ? q->gateway : "here");
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>", f);
}

static void by_what(FILE *f, const uint64_t n[3])
{
	uint64_t t = n[0] + n[1] + n[2];

	td_num(f, t);
	for (unsigned w = 0; w < 3; w++)
		td_num(f, n[w]);
}

static void ports(FILE *f, const struct blocklog_report_view *v)
{
	uint64_t rest[3] = { 0 };
	size_t shown = v->nports < REPORT_PORTS ? v->nports : REPORT_PORTS;

	fputs("<h2 id=ports>Blocks by port and profile</h2><p class=meta>"
	      "The block lines (summaries name no port or profile).</p>", f);
	if (!v->nports) {
		fputs("<p>No block line.</p>", f);
		return;
	}
	fputs("<table class=sort id=port-table><thead><tr><th class=n>port"
	      "</th><th class=n>block lines</th>", f);
	for (unsigned w = 0; w < 3; w++)
		fprintf(f, "<th class=n>%s</th>", what_name[w]);
	fputs("</tr></thead><tbody>", f);
	for (size_t i = 0; i < v->nports; i++) {
		const struct blocklog_port_count *p = &v->ports[i];

		if (i >= shown) {
			for (unsigned w = 0; w < 3; w++)
				rest[w] += p->n[w];
			continue;
		}
		fprintf(f, "<tr><td class=n data-v=\"%u\">%u</td>", p->port,
			p->port);
		by_what(f, p->n);
		fputs("</tr>", f);
	}
	if (v->nports > shown) {
		fprintf(f, "<tr><td data-v=\"65536\">%zu other ports</td>",
			v->nports - shown);
		by_what(f, rest);
		fputs("</tr>", f);
	}
	fputs("</tbody></table><table class=sort id=profile-table><thead>"
	      "<tr><th>profile</th><th class=n>block lines</th>", f);
	for (unsigned w = 0; w < 3; w++)
		fprintf(f, "<th class=n>%s</th>", what_name[w]);
	fputs("</tr></thead><tbody>", f);
	for (size_t i = 0; i < v->nprofiles; i++) {
		fputs("<tr><td>", f);
		esc(f, v->profiles[i].others ? "(the profiles past the "
		    "report's 255)" : v->profiles[i].name[0] ?
		    v->profiles[i].name : "(none)");
		fputs("</td>", f);
		by_what(f, v->profiles[i].n);
		fputs("</tr>", f);
	}
	fputs("</tbody></table>", f);
}

static void health(FILE *f, const struct report_meta *m,
		   const struct blocklog_report_view *v)
{
	char a[40], b[40], d[40];

	fputs("<h2 id=health>Lines lost, fallback periods</h2>"
	      "<h3>Lines lost</h3><p class=meta>What the daemon counted as "
	      "lost before writing (a full queue or disk: its lines' "
	      "<code>lost</code> fields), and lines of these files that are "
	      "no block log line.</p><table id=file-table><thead><tr>"
	      "<th>file</th><th class=n>lines</th><th class=n>matched</th>"
	      "<th class=n>lost before it</th><th class=n>malformed</th>"
	      "</tr></thead><tbody>", f);
	for (size_t i = 0; i < m->files->count; i++) {
		const struct cli_log_counts *c = &m->counts[i];

		fputs("<tr><td>", f);
		esc(f, m->files->path[i]);
		fputs("</td>", f);
		td_num(f, c->lines);
		td_num(f, c->matched);
		td_num(f, c->lost);
		td_num(f, c->malformed);
		fputs("</tr>", f);
	}
	fputs("</tbody></table><h3>Fallback periods</h3><p class=meta>While "
	      "the daemon was not judging (stopped, restarting), the kernel "
	      "judged alone by the policy's ports; each period's line says "
	      "what it did.</p>", f);
	if (!v->nfallbacks) {
		fputs("<p id=no-fallback>None in the lines read.</p>", f);
		return;
	}
	if (v->fallbacks_total > v->nfallbacks)
		fprintf(f, "<p>The latest %zu of %" PRIu64 ".</p>",
			v->nfallbacks, v->fallbacks_total);
	fputs("<table class=sort id=fallback-table><thead><tr><th>since</th>"
	      "<th>until</th><th>for</th><th class=n>rejected</th>"
	      "<th class=n>dropped</th><th class=n>accepted</th></tr></thead>"
	      "<tbody>", f);
	for (size_t i = 0; i < v->nfallbacks; i++) {
		const struct blocklog_report_fallback *fb = &v->fallbacks[i];

		fprintf(f, "<tr><td>%s</td><td>%s</td><td data-v=\"%" PRId64
			"\">%s</td>", ts_s(fb->since, a, sizeof(a)),
			ts_s(fb->until, b, sizeof(b)), fb->until - fb->since,
			span((fb->until - fb->since) * 1000, d, sizeof(d)));
		td_num(f, fb->syns[POLICY_REJECT]);
		td_num(f, fb->syns[POLICY_DROP]);
		td_num(f, fb->syns[POLICY_ACCEPT]);
		fputs("</tr>", f);
	}
	fputs("</tbody></table>", f);
}

static void made(FILE *f, const struct report_meta *m,
		 const struct blocklog_report_view *v)
{
	char a[40], b[40];

	fputs("<h2 id=made>How it was made</h2><dl><dt>filters</dt><dd>", f);
	esc(f, m->filters[0] ? m->filters : "none: every line");
	fprintf(f, "</dd><dt>files</dt><dd>%zu, oldest first (above)</dd>"
		"<dt>lines counted</dt><dd>%s</dd>", m->files->count,
		num(v->lines, a, sizeof(a)));
	fprintf(f, "<dt>quarantined</dt><dd>as of %s (the end of the period "
		"read)</dd><dt>made</dt><dd>%s by portcullis report</dd></dl>",
		ts_s(m->at_s, a, sizeof(a)), ts_s(m->made_s, b, sizeof(b)));
}

int report_html(FILE *f, const struct report_meta *m,
		struct blocklog_report *r, const struct blocklog_report_view *v)
{
	uint64_t lost = 0, malformed = 0;

	for (size_t i = 0; i < m->files->count; i++) {
		lost += m->counts[i].lost;
		malformed += m->counts[i].malformed;
	}
	head(f, v);
	summary(f, m, v, lost, malformed);
	fputs("<h2 id=time>Blocked SYNs over time</h2>", f);
	if (chart_time(f, v) < 0)
		return -1;
	top_table(f, m, r, v);
	quarantines(f, m, r, v);
	ports(f, v);
	health(f, m, v);
	made(f, m, v);
	fprintf(f, "<script>%s</script></body></html>\n", report_script);
	if (fflush(f) == EOF || ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}
