// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "common/log.h"
#include "netlink/queue.h"

#define DEFAULT_COPY_RANGE	256
#define DEFAULT_MAX_LEN		8192
#define MAX_BURST		1024
#define MAX_COPY_RANGE		0xffff
/* Socket memory one queued packet costs (skb truesize of a ~600 byte
 * message), for the default receive buffer. */
#define RCVBUF_PER_PACKET	2048
/* What the kernel wraps around the copied bytes: netlink and nfgenmsg
 * headers, packet header, mark, four ifindexes, hardware address,
 * timestamp, cap length, skb info, VLAN, priority. Well under this. */
#define PACKET_MSG_OVERHEAD	512
/* A verdict: nlmsghdr, nfgenmsg, verdict header, mark — 40 bytes. */
#define VERDICT_MSG_MAX		64
#define CONFIG_ACK_TIMEOUT_MS	5000
#define LOG_INTERVAL_S		10

struct queue {
	struct mnl_socket *nl;
	int fd;
	int efd;			/* queue_interrupt() writes here */
	uint16_t num;
	uint32_t portid;
	uint32_t seq;
	struct queue_config cfg;

	size_t slot;			/* bytes per received message */
	char *rx;			/* burst slots */
	struct mmsghdr *msgs;
	struct iovec *iov;

	char *tx;			/* verdict batch, twice tx_limit */
	size_t tx_limit;
	struct mnl_nlmsg_batch *batch;
	unsigned batched;		/* packets the batch's messages answer */
	bool in_burst;

	/*
	 * A run of packets, in the order delivered, each answered in its own
	 * callback with the same verdict and mark: it goes out as one
	 * NFQNL_MSG_VERDICT_BATCH naming the last id. Such a message answers
	 * every packet of the queue up to that id, so it is used only while
	 * every packet delivered so far was answered in its callback: one
	 * left for later and runs stop for good (it would be swept along).
	 */
	struct {
		uint32_t last;		/* id of the run's last packet */
		unsigned n;		/* packets in the run, 0: none */
		enum queue_verdict v;
		uint32_t mark;
	} run;
	queue_look_cb look;		/* queue_set_lookahead() */
	void *look_arg;
	struct queue_packet *pkts;	/* the burst's packets, for look */
	unsigned npkts;

	uint32_t cur_id;		/* packet in its callback now */
	bool cur_open;			/* ... not answered yet */
	bool no_runs;			/* a callback left its packet */

	bool interrupted;		/* __atomic: set by queue_interrupt() */
	struct queue_stats st;		/* written by the owner only */

	uint64_t enobufs_logged;	/* st.enobufs at the last log line */
	int64_t enobufs_log_s;
	uint64_t verr_logged;
	int64_t verr_log_s;
};

/* Only the owning thread writes a counter; others read it atomically. */
#define COUNT(q, field, n) \
	__atomic_store_n(&(q)->st.field, (q)->st.field + (n), __ATOMIC_RELAXED)

static void seterr(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t len, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static bool log_due(int64_t *last)
{
	int64_t t = now_s();

	if (*last && t - *last < LOG_INTERVAL_S)
		return false;
	*last = t;
	return true;
}

static void note_enobufs(struct queue *q)
{
	COUNT(q, enobufs, 1);
	if (!log_due(&q->enobufs_log_s))
		return;
	log_warnx("queue %u: receive buffer overrun (ENOBUFS) %" PRIu64
		  " time(s) since the last report, %" PRIu64 " in all: the "
		  "kernel %s packets it could not queue to us",
		  q->num, q->st.enobufs - q->enobufs_logged, q->st.enobufs,
		  q->cfg.fail_open ? "accepted" : "dropped");
	q->enobufs_logged = q->st.enobufs;
}

static void note_verdict_error(struct queue *q, unsigned n, int err)
{
	COUNT(q, verdict_errors, n);
	if (!log_due(&q->verr_log_s))
		return;
	log_warnx("queue %u: verdict failed: %s (%" PRIu64 " since the last "
		  "report, %" PRIu64 " in all)", q->num, strerror(err),
		  q->st.verdict_errors - q->verr_logged, q->st.verdict_errors);
	q->verr_logged = q->st.verdict_errors;
}

/* The netlink port id holding queue num in this namespace, or 0. */
static uint32_t queue_holder(uint16_t num)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	unsigned qn, portid, found = 0;
	char line[256];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u", &qn, &portid) == 2 && qn == num) {
			found = portid;
			break;
		}
	fclose(f);
	return found;
}

/* Send verdict messages answering npkts packets. */
static int send_buf(struct queue *q, const void *buf, size_t len,
		    unsigned npkts)
{
	ssize_t n;

	do
		n = mnl_socket_sendto(q->nl, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		note_verdict_error(q, npkts, errno);
		return -1;
	}
	COUNT(q, verdicts, npkts);
	return 0;
}

/* While waiting for a config ack no callback exists yet: a packet that
 * arrives is sent through the chain again, to be queued once more. */
static void requeue(struct queue *q, const struct nlmsghdr *nlh)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	char buf[VERDICT_MSG_MAX];
	struct nlmsghdr *v;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	v = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, q->num);
	nfq_nlmsg_verdict_put(v, (int)ntohl(ph->packet_id), NF_REPEAT);
	send_buf(q, v, v->nlmsg_len, 1);
}

/* Send a config message asking for an ack and wait for it. Returns 0, or
 * -1 with errno as the kernel answered (ETIMEDOUT if it did not). */
static int config_send(struct queue *q, struct nlmsghdr *nlh)
{
	uint32_t seq = ++q->seq;
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
	const struct nlmsghdr *m;
	const struct nlmsgerr *e;
	ssize_t n;
	int len;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		n = poll(&pfd, 1, CONFIG_ACK_TIMEOUT_MS);
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (n > 0)
			n = recv(q->fd, q->rx, q->slot, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				note_enobufs(q);
				continue;
			}
			return -1;
		}
		len = (int)n;
		for (m = (const struct nlmsghdr *)q->rx; mnl_nlmsg_ok(m, len);
		     m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_type == NLMSG_ERROR) {
				if (m->nlmsg_seq != seq || m->nlmsg_len <
				    mnl_nlmsg_size(sizeof(*e)))
					continue;
				e = mnl_nlmsg_get_payload(m);
				if (e->error == 0)
					return 0;
				errno = -e->error;
				return -1;
			}
			if (m->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) |
					      NFQNL_MSG_PACKET))
				requeue(q, m);
		}
	}
}

static void set_rcvbuf(struct queue *q)
{
	/* The kernel doubles what it is given (for its bookkeeping). */
	int half = (int)(q->cfg.rcvbuf > INT_MAX ? INT_MAX / 2
						 : q->cfg.rcvbuf / 2);
	int got = 0;
	socklen_t sl = sizeof(got);

	if (setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &half,
		       sizeof(half)) < 0)
		(void)setsockopt(q->fd, SOL_SOCKET, SO_RCVBUF, &half,
				 sizeof(half));
	if (getsockopt(q->fd, SOL_SOCKET, SO_RCVBUF, &got, &sl) == 0)
		q->st.rcvbuf = (uint32_t)got;
	if ((uint32_t)got < q->cfg.rcvbuf)
		log_warnx("queue %u: receive buffer is %d bytes, not the %u "
			  "asked for (no CAP_NET_ADMIN: raise "
			  "net.core.rmem_max)", q->num, got, q->cfg.rcvbuf);
}

static int config_defaults(struct queue_config *c, char *err, size_t errlen)
{
	if (!c->copy_range)
		c->copy_range = DEFAULT_COPY_RANGE;
	if (!c->max_len)
		c->max_len = DEFAULT_MAX_LEN;
	if (!c->burst)
		c->burst = QUEUE_DEFAULT_BURST;
	if (!c->rcvbuf)
		c->rcvbuf = c->max_len > UINT32_MAX / RCVBUF_PER_PACKET ?
			    UINT32_MAX : c->max_len * RCVBUF_PER_PACKET;
	if (c->copy_range > MAX_COPY_RANGE) {
		errno = EINVAL;
		seterr(err, errlen, "copy range %u: expected 1 to %u bytes",
		       c->copy_range, MAX_COPY_RANGE);
		return -1;
	}
	if (c->burst > MAX_BURST) {
		errno = EINVAL;
		seterr(err, errlen, "burst %u: expected 1 to %u packets",
		       c->burst, MAX_BURST);
		return -1;
	}
	return 0;
}

static int alloc_buffers(struct queue *q)
{
	unsigned i, burst = q->cfg.burst;

	q->slot = (q->cfg.copy_range + PACKET_MSG_OVERHEAD + 7) & ~(size_t)7;
	q->rx = malloc(q->slot * burst);
	q->msgs = calloc(burst, sizeof(*q->msgs));
	q->iov = calloc(burst, sizeof(*q->iov));
	q->pkts = calloc(burst, sizeof(*q->pkts));
	/* mnl_nlmsg_batch needs twice its limit: a message that overflows
	 * is written past the limit before the batch notices. */
	q->tx_limit = (size_t)(burst + 1) * VERDICT_MSG_MAX;
	q->tx = malloc(2 * q->tx_limit);
	if (!q->rx || !q->msgs || !q->iov || !q->pkts || !q->tx)
		return -1;
	q->batch = mnl_nlmsg_batch_start(q->tx, q->tx_limit);
	if (!q->batch)
		return -1;
	for (i = 0; i < burst; i++) {
		q->iov[i].iov_base = q->rx + i * q->slot;
		q->iov[i].iov_len = q->slot;
		q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
		q->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

static int bind_queue(struct queue *q, char *err, size_t errlen)
{
	char buf[512] = { 0 };	/* the config command has a pad byte */
	struct nlmsghdr *nlh;
	uint32_t holder, flags = NFQA_CFG_F_GSO;

	/* PF_BIND is a no-op since Linux 3.8 but still needs CAP_NET_ADMIN:
	 * it tells "not allowed" apart from "queue taken", which the kernel
	 * both answers with EPERM. */
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, 0);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_PF_BIND);
	if (config_send(q, nlh) < 0) {
		seterr(err, errlen, "queue %u: %s%s", q->num, strerror(errno),
		       errno == EPERM ? " (NFQUEUE needs CAP_NET_ADMIN)" : "");
		return -1;
	}

	/* One message, so no packet is ever queued before its copy mode,
	 * length and flags are set. */
	if (q->cfg.fail_open)
		flags |= NFQA_CFG_F_FAIL_OPEN;
	memset(buf, 0, sizeof(buf));
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET,
				 (int)q->cfg.copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, q->cfg.max_len);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK,
			 htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	if (config_send(q, nlh) == 0)
		return 0;

	switch (errno) {
	case EPERM:
	case EBUSY:
		holder = queue_holder(q->num);
		errno = EBUSY;
		if (holder)
			seterr(err, errlen, "queue %u is already bound by "
			       "another socket (netlink port id %u, usually "
			       "the pid of the process holding it)",
			       q->num, holder);
		else
			seterr(err, errlen, "queue %u is already bound by "
			       "another socket", q->num);
		break;
	case EOPNOTSUPP:
		seterr(err, errlen, "queue %u: the kernel does not support "
		       "the GSO or fail-open queue flags", q->num);
		break;
	default:
		seterr(err, errlen, "queue %u: bind: %s", q->num,
		       strerror(errno));
	}
	return -1;
}

struct queue *queue_open(uint16_t num, const struct queue_config *cfg,
			 char *err, size_t errlen)
{
	struct queue *q;
	int saved;

	if (errlen)
		err[0] = '\0';
	q = calloc(1, sizeof(*q));
	if (!q) {
		seterr(err, errlen, "queue %u: %s", num, strerror(errno));
		return NULL;
	}
	q->fd = q->efd = -1;
	q->num = num;
	if (cfg)
		q->cfg = *cfg;
	if (config_defaults(&q->cfg, err, errlen) < 0)
		goto fail;
	if (alloc_buffers(q) < 0) {
		seterr(err, errlen, "queue %u: %s", num, strerror(errno));
		goto fail;
	}
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		seterr(err, errlen, "queue %u: eventfd: %s", num,
		       strerror(errno));
		goto fail;
	}
	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!q->nl || mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		seterr(err, errlen, "queue %u: netlink socket: %s", num,
		       strerror(errno));
		goto fail;
	}
	q->fd = mnl_socket_get_fd(q->nl);
	q->portid = mnl_socket_get_portid(q->nl);
	set_rcvbuf(q);
	if (bind_queue(q, err, errlen) < 0)
		goto fail;
	return q;
fail:
	saved = errno;
	queue_close(q);
	errno = saved;
	return NULL;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	/* Closing the socket unbinds: the kernel destroys the queues of a
	 * netlink port that goes away. */
	if (q->nl)
		mnl_socket_close(q->nl);
	if (q->efd >= 0)
		close(q->efd);
	if (q->batch)
		mnl_nlmsg_batch_stop(q->batch);
	free(q->tx);
	free(q->pkts);
	free(q->iov);
	free(q->msgs);
	free(q->rx);
	free(q);
}

static int nf_verdict(enum queue_verdict v)
{
	switch (v) {
	case QUEUE_ACCEPT:
		return NF_ACCEPT;
	case QUEUE_DROP:
		return NF_DROP;
	case QUEUE_REPEAT:
		return NF_REPEAT;
	}
	return -1;
}

/* Append one verdict message answering npkts packets to the burst's
 * batch, sending what it holds first if it is full. */
static int batch_put(struct queue *q, int type, uint32_t id,
		     enum queue_verdict v, uint32_t mark, unsigned npkts)
{
	struct nlmsghdr *nlh;
	int ret = 0;

	nlh = nfq_nlmsg_put(mnl_nlmsg_batch_current(q->batch), type, q->num);
	nfq_nlmsg_verdict_put(nlh, (int)id, nf_verdict(v));
	if (v == QUEUE_REPEAT)
		nfq_nlmsg_verdict_put_mark(nlh, mark);
	if (type == NFQNL_MSG_VERDICT_BATCH)
		COUNT(q, batch_msgs, 1);
	if (!mnl_nlmsg_batch_next(q->batch)) {
		/* Full: send what came before; reset keeps this one. */
		ret = send_buf(q, mnl_nlmsg_batch_head(q->batch),
			       mnl_nlmsg_batch_size(q->batch), q->batched);
		mnl_nlmsg_batch_reset(q->batch);
		q->batched = 0;
	}
	q->batched += npkts;
	return ret;
}

/* The run so far into the batch: one plain verdict for a single packet,
 * else one batch verdict up to its last id. */
static int run_end(struct queue *q)
{
	unsigned n = q->run.n;

	if (!n)
		return 0;
	q->run.n = 0;
	return batch_put(q, n == 1 ? NFQNL_MSG_VERDICT
				   : NFQNL_MSG_VERDICT_BATCH,
			 q->run.last, q->run.v, q->run.mark, n);
}

static int flush(struct queue *q)
{
	int ret = run_end(q);

	if (mnl_nlmsg_batch_is_empty(q->batch))
		return ret;
	if (send_buf(q, mnl_nlmsg_batch_head(q->batch),
		     mnl_nlmsg_batch_size(q->batch), q->batched) < 0)
		ret = -1;
	mnl_nlmsg_batch_reset(q->batch);
	q->batched = 0;
	return ret;
}

int queue_verdict(struct queue *q, uint32_t id, enum queue_verdict v,
		  uint32_t mark)
{
	char buf[VERDICT_MSG_MAX];
	struct nlmsghdr *nlh;
	int ret;

	if (nf_verdict(v) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!q->in_burst || q->cfg.verdict_immediate) {
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, q->num);
		nfq_nlmsg_verdict_put(nlh, (int)id, nf_verdict(v));
		if (v == QUEUE_REPEAT)
			nfq_nlmsg_verdict_put_mark(nlh, mark);
		return send_buf(q, nlh, nlh->nlmsg_len, 1);
	}
	if (id == q->cur_id && q->cur_open && !q->no_runs) {
		/* The packet of this callback, every one before it
		 * answered: it may join the run. */
		q->cur_open = false;
		if (q->run.n && q->run.v == v &&
		    (v != QUEUE_REPEAT || q->run.mark == mark)) {
			q->run.last = id;
			q->run.n++;
			return 0;
		}
		ret = run_end(q);
		q->run.last = id;
		q->run.n = 1;
		q->run.v = v;
		q->run.mark = mark;
		return ret;
	}
	/* Anything else keeps its place after the run. */
	ret = run_end(q);
	if (batch_put(q, NFQNL_MSG_VERDICT, id, v, mark, 1) < 0)
		ret = -1;
	return ret;
}

static uint32_t attr_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, (const char *)a + NLA_HDRLEN, sizeof(v));
	return ntohl(v);
}

/*
 * One packet message into pkt. The attributes are walked here rather
 * than by nfq_nlmsg_parse(), which validates every attribute through a
 * callback and costs more than the rest of the verdict path; only the
 * ones read are checked, for their length. Returns 0, or -1 if the
 * message is malformed or has no packet header.
 */
static int packet_parse(const struct nlmsghdr *nlh, struct queue_packet *pkt)
{
	const char *p = (const char *)nlh + NLMSG_HDRLEN +
			NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const char *end = (const char *)nlh + nlh->nlmsg_len;
	bool hdr = false;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)))
		return -1;
	memset(pkt, 0, sizeof(*pkt));
	while (end - p >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t len = a->nla_len;

		if (len < NLA_HDRLEN || len > (size_t)(end - p))
			return -1;
		len -= NLA_HDRLEN;
		switch (a->nla_type & NLA_TYPE_MASK) {
		case NFQA_PACKET_HDR: {
			struct nfqnl_msg_packet_hdr ph;

			if (len < sizeof(ph))
				return -1;
			memcpy(&ph, p + NLA_HDRLEN, sizeof(ph));
			pkt->id = ntohl(ph.packet_id);
			pkt->hw_protocol = ntohs(ph.hw_protocol);
			pkt->hook = ph.hook;
			hdr = true;
			break;
		}
		case NFQA_PAYLOAD:
			pkt->payload = (const uint8_t *)p + NLA_HDRLEN;
			pkt->len = (uint32_t)len;
			break;
		case NFQA_CAP_LEN:
			if (len != 4)
				return -1;
			pkt->orig_len = attr_u32(a);
			break;
		case NFQA_MARK:
			if (len != 4)
				return -1;
			pkt->mark = attr_u32(a);
			break;
		case NFQA_IFINDEX_INDEV:
			if (len != 4)
				return -1;
			pkt->indev = attr_u32(a);
			break;
		case NFQA_IFINDEX_OUTDEV:
			if (len != 4)
				return -1;
			pkt->outdev = attr_u32(a);
			break;
		case NFQA_SKB_INFO:
			if (len != 4)
				return -1;
			pkt->gso = attr_u32(a) & NFQA_SKB_GSO;
			break;
		default:
			break;
		}
		p += NLA_ALIGN(a->nla_len);
	}
	if (!hdr)
		return -1;
	/* The kernel sends a capture length only for a packet it cut. */
	if (!pkt->orig_len)
		pkt->orig_len = pkt->len;
	return 0;
}

static void deliver_parsed(struct queue *q, const struct queue_packet *pkt,
			   queue_cb cb, void *arg)
{
	COUNT(q, packets, 1);
	q->cur_id = pkt->id;
	q->cur_open = true;
	cb(q, pkt, arg);
	if (q->cur_open && !q->no_runs) {
		/* Left for later: a batch verdict would sweep it along. */
		q->no_runs = true;
		log_debug("queue %u: packet %u left for a later verdict; "
			  "verdicts go one by one from now on", q->num,
			  pkt->id);
	}
	q->cur_open = false;
}

/* The packets gathered for the look-ahead: shown to it all at once, then
 * to cb one by one, in the order they came. */
static void look_flush(struct queue *q, queue_cb cb, void *arg)
{
	unsigned i, n = q->npkts;

	if (!n)
		return;
	q->npkts = 0;
	q->look(q, q->pkts, n, q->look_arg);
	for (i = 0; i < n; i++)
		deliver_parsed(q, &q->pkts[i], cb, arg);
}

/* One packet message: to cb now, or gathered for the look-ahead. */
static void deliver(struct queue *q, const struct nlmsghdr *nlh,
		    queue_cb cb, void *arg)
{
	struct queue_packet pkt, *slot = q->look ? &q->pkts[q->npkts] : &pkt;

	if (packet_parse(nlh, slot) < 0) {
		COUNT(q, bad_messages, 1);
		return;
	}
	if (!q->look) {
		deliver_parsed(q, &pkt, cb, arg);
		return;
	}
	/* One message per datagram, so a burst fills pkts at most; more
	 * would go as a burst of their own, still in order. */
	if (++q->npkts == q->cfg.burst)
		look_flush(q, cb, arg);
}

/* Walk one received datagram; returns the packets handed to cb. */
static int handle(struct queue *q, const char *buf, int len, int flags,
		  queue_cb cb, void *arg)
{
	const struct nlmsghdr *nlh;
	const struct nlmsgerr *e;
	int n = 0;

	if (flags & MSG_TRUNC) {
		/* Cannot happen with the slot sized for copy_range; if it
		 * does, the packet waits for a verdict until we close. */
		COUNT(q, bad_messages, 1);
		log_warnx("queue %u: message larger than %zu bytes cut",
			  q->num, q->slot);
		return 0;
	}
	for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) |
					NFQNL_MSG_PACKET)) {
			deliver(q, nlh, cb, arg);
			n++;
		} else if (nlh->nlmsg_type == NLMSG_ERROR) {
			/* Verdicts ask for no ack: this is a refusal. */
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error)
				note_verdict_error(q, 1, -e->error);
		}
	}
	return n;
}

/* Receive up to a burst without blocking. Returns the datagrams read,
 * 0 if none were waiting, -1 on a socket error. */
static int rx_burst(struct queue *q)
{
	int n;

	for (;;) {
		n = recvmmsg(q->fd, q->msgs, q->cfg.burst, MSG_DONTWAIT, NULL);
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ENOBUFS)
			note_enobufs(q);
		else if (errno != EINTR)
			return -1;
	}
}

int queue_receive(struct queue *q, queue_cb cb, void *arg, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = q->fd, .events = POLLIN },
		{ .fd = q->efd, .events = POLLIN },
	};
	int i, n, handled = 0;

	if (__atomic_load_n(&q->interrupted, __ATOMIC_ACQUIRE)) {
		errno = EINTR;
		return -1;
	}
	/* Under load the socket is rarely empty: try it before polling. */
	n = rx_burst(q);
	if (n == 0 && timeout_ms != 0) {
		n = poll(pfd, 2, timeout_ms);
		if (n < 0)
			return errno == EINTR ? 0 : -1;
		if (pfd[1].revents) {
			__atomic_store_n(&q->interrupted, true,
					 __ATOMIC_RELEASE);
			errno = EINTR;
			return -1;
		}
		if (n == 0)
			return 0;
		n = rx_burst(q);
	}
	if (n <= 0)
		return n;

	q->in_burst = true;
	for (i = 0; i < n; i++)
		handled += handle(q, q->iov[i].iov_base,
				  (int)q->msgs[i].msg_len,
				  q->msgs[i].msg_hdr.msg_flags, cb, arg);
	if (q->look)
		look_flush(q, cb, arg);
	q->in_burst = false;
	if (handled)
		COUNT(q, bursts, 1);
	flush(q);
	return handled;
}

void queue_set_lookahead(struct queue *q, queue_look_cb look, void *arg)
{
	q->look = look;
	q->look_arg = arg;
}

int queue_interrupt(struct queue *q)
{
	uint64_t one = 1;

	__atomic_store_n(&q->interrupted, true, __ATOMIC_RELEASE);
	if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

int queue_fd(const struct queue *q)
{
	return q->fd;
}

uint16_t queue_num(const struct queue *q)
{
	return q->num;
}

void queue_stats(const struct queue *q, struct queue_stats *st)
{
	st->packets = __atomic_load_n(&q->st.packets, __ATOMIC_RELAXED);
	st->bursts = __atomic_load_n(&q->st.bursts, __ATOMIC_RELAXED);
	st->enobufs = __atomic_load_n(&q->st.enobufs, __ATOMIC_RELAXED);
	st->verdicts = __atomic_load_n(&q->st.verdicts, __ATOMIC_RELAXED);
	st->batch_msgs = __atomic_load_n(&q->st.batch_msgs, __ATOMIC_RELAXED);
	st->verdict_errors = __atomic_load_n(&q->st.verdict_errors,
					     __ATOMIC_RELAXED);
	st->bad_messages = __atomic_load_n(&q->st.bad_messages,
					   __ATOMIC_RELAXED);
	st->rcvbuf = __atomic_load_n(&q->st.rcvbuf, __ATOMIC_RELAXED);
}
