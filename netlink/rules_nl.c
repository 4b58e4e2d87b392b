// SPDX-License-Identifier: GPL-2.0-or-later
/* netlink/rules: one netfilter netlink exchange (rules_kern.h), for the
 * kernel quarantine's counter reads (ipset and nf_tables). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>

#include "netlink/rules_kern.h"

int rules_nl_open(struct rules_nl *n)
{
	memset(n, 0, sizeof(*n));
	n->size = MNL_SOCKET_BUFFER_SIZE > 65536 ? MNL_SOCKET_BUFFER_SIZE
						 : 65536;
	n->buf = malloc(n->size);
	n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!n->buf || !n->nl || mnl_socket_bind(n->nl, 0,
						 MNL_SOCKET_AUTOPID) < 0) {
		int e = errno ? errno : ENOMEM;

		rules_nl_close(n);
		errno = e;
		return -1;
	}
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)time(NULL);
	return 0;
}

void rules_nl_close(struct rules_nl *n)
{
	if (n->nl)
		mnl_socket_close(n->nl);
	free(n->buf);
	n->nl = NULL;
	n->buf = NULL;
}

struct nlmsghdr *rules_nl_request(struct rules_nl *n, uint16_t type,
				  uint16_t flags, uint8_t family)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	/* Attribute padding goes out as it is: zeroed, as far as any
	 * request reaches (a batch of gets is under 5 KiB). */
	memset(n->buf, 0, n->size < 16384 ? n->size : 16384);
	nlh = mnl_nlmsg_put_header(n->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++n->seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(0);
	return nlh;
}

int rules_nl_run(struct rules_nl *n, const struct nlmsghdr *nlh,
		 mnl_cb_t cb, void *data)
{
	int r = MNL_CB_OK;
	ssize_t got;

	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	while (r > MNL_CB_STOP) {
		got = mnl_socket_recvfrom(n->nl, n->buf, n->size);
		if (got < 0)
			return -1;
		r = mnl_cb_run(n->buf, (size_t)got, n->seq, n->portid, cb,
			       data);
	}
	return r < MNL_CB_STOP ? -1 : r;
}
