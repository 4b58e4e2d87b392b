// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kvfill: N quarantine records written straight into the cluster's
 * JetStream key-value bucket, as a gateway would have published them
 * (cluster/record.c's format), for bench/cluster.sh to time a new
 * gateway loading them. Publishes asynchronously (many in flight), then
 * prints the bucket's last revision.
 *
 *   kvfill -s URLS -b BUCKET -n N [-p PREFIX] [-g GATEWAY] [-f FIRST]
 *
 * Keys q.sub.PREFIXI for I in FIRST .. FIRST+N-1 (PREFIX default
 * "bench-", only [A-Za-z0-9-]: the key needs no escaping). The bucket is
 * made as the daemon makes it when it is not there yet.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#define KV_HISTORY 64
#define KV_MAX_AGE_S (366 * 86400)

static long failed;

static void on_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
	(void)js;
	(void)closure;
	if (!failed++)
		fprintf(stderr, "kvfill: a put failed: %s (%d)\n",
			pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err),
			(int)pae->ErrCode);
}

static void rfc3339(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: kvfill -s URLS -b BUCKET -n N [-p PREFIX] "
		"[-g GATEWAY] [-f FIRST]\n");
	return rc;
}

int main(int argc, char **argv)
{
	const char *urls = NULL, *bucket = NULL, *prefix = "bench-";
	const char *gateway = "gw-bench";
	long n = -1, first = 0;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	kvStore *kv = NULL;
	jsStreamInfo *si = NULL;
	jsOptions jo;
	jsPubOptions po;
	jsErrCode jerr = 0;
	natsStatus s;
	char stream[256], subj[512], val[1024], until[32], made[32];
	double t0, t1;
	int c, ret = 1;

	while ((c = getopt(argc, argv, "s:b:n:p:g:f:h")) != -1) {
		switch (c) {
		case 's': urls = optarg; break;
		case 'b': bucket = optarg; break;
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'p': prefix = optarg; break;
		case 'g': gateway = optarg; break;
		case 'f': first = strtol(optarg, NULL, 10); break;
		case 'h': return usage(stdout, 0);
		default: return usage(stderr, 2);
		}
	}
	if (!urls || !bucket || n < 0 || first < 0 || optind != argc)
		return usage(stderr, 2);

	s = natsConnection_ConnectTo(&nc, urls);
	if (s != NATS_OK) {
		fprintf(stderr, "kvfill: connect %s: %s\n", urls, natsStatus_GetText(s));
		goto out;
	}
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = 4096;
	/* A full window waits for acks (the default 200 ms gives up while
	 * the stream's leader syncs its followers under load). */
	jo.PublishAsync.StallWait = 30000;
	jo.PublishAsync.ErrHandler = on_error;
	s = natsConnection_JetStream(&js, nc, &jo);
	if (s == NATS_OK)
		s = js_KeyValue(&kv, js, bucket);
	if (s != NATS_OK && js) {
		kvConfig kc;

		kvConfig_Init(&kc);
		kc.Bucket = bucket;
		kc.Description = "portcullis: exceptions and quarantines";
		kc.History = KV_HISTORY;
		kc.TTL = (int64_t)KV_MAX_AGE_S * 1000000000LL;
		kc.MaxValueSize = 4096;
		kc.StorageType = js_FileStorage;
		kc.Replicas = 3;
		s = js_CreateKeyValue(&kv, js, &kc);
		if (s != NATS_OK) {
			kc.Replicas = 1;
			s = js_CreateKeyValue(&kv, js, &kc);
		}
	}
	if (s != NATS_OK) {
		fprintf(stderr, "kvfill: bucket %s: %s\n", bucket, natsStatus_GetText(s));
		goto out;
	}

	rfc3339(time(NULL), made, sizeof(made));
	rfc3339(time(NULL) + 3600, until, sizeof(until));
	t0 = now_s();
	for (long i = first; i < first + n; i++) {
		int len;

		snprintf(subj, sizeof(subj), "$KV.%s.q.sub.%s%ld", bucket, prefix, i);
		len = snprintf(val, sizeof(val),
			       "{\"v\":1,\"kind\":\"quarantine\",\"op\":\"quarantine\","
			       "\"subscriber\":\"%s%ld\",\"profile\":\"quarantine\","
			       "\"until\":\"%s\",\"gateway\":\"%s\",\"time\":\"%s\","
			       "\"syns\":100,\"distinct_destinations\":20}",
			       prefix, i, until, gateway, made);
		s = js_PublishAsync(js, subj, val, len, NULL);
		if (s != NATS_OK) {
			fprintf(stderr, "kvfill: put %s: %s\n", subj, natsStatus_GetText(s));
			goto out;
		}
	}
	jsPubOptions_Init(&po);
	po.MaxWait = 60000;
	s = js_PublishAsyncComplete(js, &po);
	t1 = now_s();
	if (s != NATS_OK) {
		fprintf(stderr, "kvfill: waiting for the acks: %s\n", natsStatus_GetText(s));
		goto out;
	}
	snprintf(stream, sizeof(stream), "KV_%s", bucket);
	s = js_GetStreamInfo(&si, js, stream, NULL, &jerr);
	if (s != NATS_OK) {
		fprintf(stderr, "kvfill: stream %s: %s (%d)\n", stream,
			natsStatus_GetText(s), (int)jerr);
		goto out;
	}
	printf("put %ld in %.3f s (%.0f/s), %ld failed; last_revision %llu "
	       "records %llu\n", n, t1 - t0, t1 > t0 ? (double)n / (t1 - t0) : 0.0,
	       failed, (unsigned long long)si->State.LastSeq,
	       (unsigned long long)si->State.Msgs);
	ret = failed ? 1 : 0;
out:
	jsStreamInfo_Destroy(si);
	kvStore_Destroy(kv);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return ret;
}
