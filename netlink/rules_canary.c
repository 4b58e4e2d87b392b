// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/rules: the sets' canaries. Each of our ipset sets holds one
 * element no forwarded packet can carry as its source (255.255.255.255,
 * ff00::: a broadcast or multicast source is a martian the kernel drops
 * before any hook), put in when the set is made or filled. A set that was
 * flushed or destroyed has lost it. Asking the kernel whether it is still
 * there is one netlink message per set (IPSET_CMD_TEST), whatever the
 * set's size: listing a set's header instead walks every element.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/nfnetlink.h>

#include "netlink/rules_kern.h"

static const uint8_t canary4[4] = { 255, 255, 255, 255 };
static const uint8_t canary6[16] = { 0xff };

/* The kernel's answer to one request: 0, or the negative error. */
static int ack(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

struct rules_canary {
	struct mnl_socket *nl;
	uint32_t portid, seq;
};

int rules_canary_open(struct rules_canary **out)
{
	struct rules_canary *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!c->nl || mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		if (c->nl)
			mnl_socket_close(c->nl);
		free(c);
		errno = e;
		return -1;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	*out = c;
	return 0;
}

void rules_canary_close(struct rules_canary *c)
{
	if (!c)
		return;
	mnl_socket_close(c->nl);
	free(c);
}

int rules_canary_test(struct rules_canary *c, const char *set, bool v6)
{
	char buf[1024] = { 0 };	/* attribute padding goes out as is */
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct nlattr *data, *ip;
	uint32_t seq = ++c->seq;
	ssize_t n;
	int r;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_IPSET << 8) | IPSET_CMD_TEST;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = v6 ? AF_INET6 : AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(0);
	mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL);
	mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, set);
	data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
	ip = mnl_attr_nest_start(nlh, IPSET_ATTR_IP);
	if (v6)
		mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER,
			     sizeof(canary6), canary6);
	else
		mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER,
			     sizeof(canary4), canary4);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, data);
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	n = mnl_socket_recvfrom(c->nl, buf, sizeof(buf));
	if (n < 0)
		return -1;
	r = mnl_cb_run(buf, (size_t)n, seq, c->portid, ack, NULL);
	if (r >= 0)
		return 1;
	/* Not in the set (IPSET_ERR_EXIST), or no such set: lost. What is
	 * not ipset's own answer is a failure to ask. */
	if (errno == EPERM || errno == EACCES || errno == ENOBUFS)
		return -1;
	return 0;
}
