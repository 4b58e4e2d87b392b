// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/rules: the nf_tables ruleset generation (NFT_MSG_GETGEN), which
 * every committed change moves. Reading it costs one netlink round trip,
 * so a check of the ruleset once a second reads the rules themselves
 * only when something changed.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netlink/rules_int.h"

static int gen_attr(const struct nlattr *a, void *data)
{
	uint32_t *id = data;

	if (mnl_attr_get_type(a) == NFTA_GEN_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		*id = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

static int gen_msg(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), gen_attr, data);
}

int rules_nft_genid(uint32_t *id)
{
	char buf[8192];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	uint32_t seq = (uint32_t)time(NULL), portid, got = UINT32_MAX;
	ssize_t n;
	int ret = -1, saved;

	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl)
		return -1;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			goto out;
		n = mnl_cb_run(buf, (size_t)n, seq, portid, gen_msg, &got);
		if (n < 0)
			goto out;
		if (n == MNL_CB_STOP)
			break;
	}
	if (got == UINT32_MAX) {
		errno = ENOMSG;
		goto out;
	}
	*id = got;
	ret = 0;
out:
	saved = errno;
	mnl_socket_close(nl);
	errno = saved;
	return ret;
}
