#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Where one SYN's microseconds go, from a perf profile of a drain.

profile.py PERF.DATA PID SYNS HZ

Reads `perf script` for the threads of PID (samples at HZ of cpu-clock),
sorts each sample's own symbol into a stage of the SYN's way through the
consumer and prints microseconds per SYN per stage, with the top symbols
of each. Call chains are not used: without frame pointers in user space
they are not to be trusted; the symbol a sample lands in is.
"""
import collections
import re
import subprocess
import sys

STAGES = [
    ("receive: netlink messages to user space",
     r"recvmmsg|recvmsg|netlink_recvmsg|skb_recv_datagram|__skb_try_recv|"
     r"__skb_datagram_iter|skb_copy_datagram|_copy_to_user|scm_recv|"
     r"__scm_recv|sock_rfree|netlink_skb_destructor|import_iovec|"
     r"copy_iovec_from_user|move_addr_to_user|__put_user|"
     r"skb_release_data|skb_release_head_state|kfree_skbmem|consume_skb|"
     r"__kfree_skb|skb_free_head|kmem_cache_free|kfree$|__slab_free|"
     r"sk_skb_reason_drop"),
    ("verdict: netlink message to the queue entry",
     r"sendmsg|sendto|netlink_unicast|netlink_rcv_skb|nfnetlink_rcv|"
     r"nfqnl_recv_verdict|__dequeue_entry|find_dequeue_entry|"
     r"verdict_instance_lookup|instance_lookup|__nla_validate|nla_parse|"
     r"__nla_parse|netlink_lookup|__netlink_lookup|security_netlink|"
     r"netlink_deliver_tap|__sys_sendto|move_addr_to_kernel|"
     r"_copy_from_user|__check_object_size|__virt_addr_valid|"
     r"check_heap_object|sock_sendmsg|__sock_sendmsg"),
    ("reinject: the packet back through the hook",
     r"nfqnl_reinject|nf_reinject|nf_queue_entry|nf_conntrack_update|"
     r"nf_hook_slow|nft_do_chain|nft_.*eval|xt_|tcp_mt|mark_mt|"
     r"ipt_do_table|ip6t_do_table|nf_iterate|dst_release$"),
    ("reject: building and sending the reset",
     r"reject|nf_send_reset|nf_reject|ip_route_me_harder|ip_route_output|"
     r"ip6_route_output|fib|ip_local_out|__ip_local_out|ip6_local_out|"
     r"ip_output|ip6_output|ip_finish_output|ip6_finish_output|"
     r"neigh|eth_header|dev_queue_xmit|dev_hard_start_xmit|veth_|"
     r"__dev_forward_skb|skb_scrub_packet|netif_rx|rt_dst_alloc|dst_|"
     r"__inet_dev_addr_type|inet_addr_type|__xfrm_decode_session|"
     r"ip_skb_dst_mtu|ipv4_mtu|__ip_select_ident|__alloc_skb|"
     r"kmalloc_reserve|kmem_cache_alloc|__kmalloc|skb_put|"
     r"validate_xmit|ip6_dst|rt6_|ip6_pol_route|inet_csk|csum_|"
     r"__skb_checksum|skb_push|nf_ip_checksum|__build_skb|__napi_alloc"),
    ("reset received in the lab's subscriber namespace",
     r"process_backlog|netif_receive|__napi_poll|net_rx_action|ip_rcv|"
     r"ip_route_input|ip_error|ipv6_rcv|ip6_rcv|ip6_input|ip6_forward|"
     r"tcp_v4_rcv|tcp_v6_rcv|__inet_lookup|__inet6_lookup|ip_sublist|"
     r"ip_list_rcv|do_softirq|handle_softirqs|__do_softirq|"
     r"__local_bh_enable|icmp"),
    ("system call entry and exit, scheduling, waiting",
     r"entry_SYSCALL|syscall|do_syscall|schedule|finish_task_switch|"
     r"pick_next|poll|__pollwait|select|hrtimer|ktime_get|"
     r"_raw_spin|native_|clear_bhb|srso|retbleed|x86_return_thunk|"
     r"__fdget|fput|__x64_sys|exit_to_user|irqentry|asm_|"
     r"mutex|rcu|ns_capable|capable|security_|apparmor|"
     r"update_|enqueue_|dequeue_task|__wake_up|try_to_wake_up|"
     r"ttwu|select_task_rq|set_next|put_prev|psi_|cpuacct|"
     r"__cond_resched|__rseq|rseq_"),
]

USER = "user space (portcullisd: parse, decide, stats, block line, verdicts)"


def main():
    data, pid, syns, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        float(sys.argv[4])
    out = subprocess.run(
        ["perf", "script", "-i", data, "-G", "-F", "pid,ip,sym,dso"],
        capture_output=True, text=True).stdout
    per = collections.defaultdict(collections.Counter)
    total = 0
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$", line)
        if not m or m.group(1) != pid:
            continue
        sym, dso = m.group(3), m.group(4)
        total += 1
        if "kernel" not in dso:
            per[USER][sym] += 1
            continue
        for name, rx in STAGES:
            if re.search(rx, sym):
                per[name][sym] += 1
                break
        else:
            per["other kernel"][sym] += 1
    us = 1e6 / hz / syns
    print("%d samples at %.0f Hz over %d SYNs: %.2f us of CPU per SYN"
          % (total, hz, syns, total * us))
    order = [USER] + [s for s, _ in STAGES] + ["other kernel"]
    for name in order:
        c = per.get(name)
        if not c:
            continue
        n = sum(c.values())
        top = ", ".join("%s %.2f" % (s, k * us) for s, k in c.most_common(4))
        print("  %5.2f us  %4.1f%%  %s" % (n * us, 100.0 * n / total, name))
        print("                      %s" % top)


main()
