/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Leaving root once set up, keeping only CAP_NET_ADMIN (libcap), and
 * CAP_NET_RAW for the firewall tools alone. */
#ifndef PORTCULLIS_PRIVDROP_H
#define PORTCULLIS_PRIVDROP_H

#include <stddef.h>

/*
 * Become user (and its group), keeping CAP_NET_ADMIN permitted,
 * effective, inheritable and ambient (so the verdict threads started
 * after this, and the iptables tools run at reload and stop, have it),
 * CAP_NET_RAW permitted, inheritable and ambient but not effective (the
 * tools need it: iptables' set match asks ipset through a raw socket;
 * the daemon opens none), and nothing else. Files in chown_paths
 * (NULL-terminated; NULL entries skipped) are given to the user first.
 * Call before starting threads that need the capability: capabilities are
 * per thread.
 *
 * Returns 0 when done, 1 when there is nothing to do (not root: then
 * CAP_NET_RAW, if held, is only made not effective), or -1 with the
 * reason in err: ENOENT when the user does not exist.
 */
int privdrop(const char *user, const char *const *chown_paths,
	     char *err, size_t errlen);

#endif
