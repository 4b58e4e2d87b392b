// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter/privdrop.h"

/* Give path to uid:gid, never through a symbolic link: the daemon's own
 * account could plant one in its folders and have root give it any file
 * at the next start. A regular file or a folder is opened and changed by
 * its descriptor; a socket (which cannot be opened) by its own inode. */
static int chown_nofollow(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int ret = -1;

	if (fd < 0)
		return errno == ENXIO ?
		       fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) :
		       -1;
	if (fstat(fd, &st) == 0) {
		if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
			ret = fchown(fd, uid, gid);
		else
			errno = EINVAL;
	}
	close(fd);
	return ret;
}

static int fail(char *err, size_t errlen, const char *what)
{
	int e = errno;

	snprintf(err, errlen, "%s: %s", what, strerror(e));
	errno = e;
	return -1;
}

/* CAP_NET_RAW kept for the tools we run, not used by us: out of the
 * effective set (it stays permitted, inheritable and ambient). */
static void raw_not_effective(void)
{
	const cap_value_t raw[] = { CAP_NET_RAW };
	cap_t caps = cap_get_proc();

	if (!caps)
		return;
	if (cap_set_flag(caps, CAP_EFFECTIVE, 1, raw, CAP_CLEAR) == 0)
		cap_set_proc(caps);
	cap_free(caps);
}

int privdrop(const char *user, const char *const *chown_paths,
	     char *err, size_t errlen)
{
	const cap_value_t keep[] = { CAP_NET_ADMIN, CAP_NET_RAW };
	const cap_value_t use[] = { CAP_NET_ADMIN };
	struct passwd *pw;
	cap_t caps;
	int ret;

	if (geteuid() != 0) {
		raw_not_effective();
		return 1;
	}
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		if (!errno)
			errno = ENOENT;
		snprintf(err, errlen, "user %s: %s", user,
			 errno == ENOENT ? "no such user" : strerror(errno));
		return -1;
	}
	for (size_t i = 0; chown_paths && chown_paths[i]; i++) {
		if (chown_nofollow(chown_paths[i], pw->pw_uid, pw->pw_gid) == 0 ||
		    errno == ENOENT)
			continue;
		if (errno == ELOOP || errno == EINVAL) {
			snprintf(err, errlen, "%s is %s: not giving it to %s",
				 chown_paths[i], errno == ELOOP ?
				 "a symbolic link" : "not a regular file",
				 user);
			return -1;
		}
		return fail(err, errlen, chown_paths[i]);
	}
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return fail(err, errlen, "PR_SET_KEEPCAPS");
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		return fail(err, errlen, "setting the group");
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return fail(err, errlen, "setting the user");
	caps = cap_init();
	if (!caps)
		return fail(err, errlen, "cap_init");
	ret = cap_set_flag(caps, CAP_PERMITTED, 2, keep, CAP_SET) |
	      cap_set_flag(caps, CAP_EFFECTIVE, 1, use, CAP_SET) |
	      cap_set_flag(caps, CAP_INHERITABLE, 2, keep, CAP_SET);
	if (ret == 0)
		ret = cap_set_proc(caps);
	cap_free(caps);
	if (ret < 0)
		return fail(err, errlen, "keeping CAP_NET_ADMIN");
	/* Ambient, so the iptables tools we run at reload and stop keep it. */
	if (cap_set_ambient(CAP_NET_ADMIN, CAP_SET) < 0)
		return fail(err, errlen, "ambient CAP_NET_ADMIN");
	if (cap_set_ambient(CAP_NET_RAW, CAP_SET) < 0)
		return fail(err, errlen, "ambient CAP_NET_RAW");
	prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
	/* Make sure there is no way back. */
	if (setuid(0) == 0) {
		errno = EPERM;
		return fail(err, errlen, "root could be regained");
	}
	return 0;
}
