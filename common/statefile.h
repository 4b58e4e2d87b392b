/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's state files (live exceptions, sessions) are written
 * atomically: a new temporary file, fsync, rename, fsync of the folder.
 * The two steps every writer shares.
 */
#ifndef PORTCULLIS_STATEFILE_H
#define PORTCULLIS_STATEFILE_H

/*
 * Create tmp new (0640) for writing: O_EXCL never opens what is there and
 * never follows a symbolic link (O_NOFOLLOW says so again), so nothing
 * planted in the state folder can redirect the write. One left by a crash
 * is removed first (unlink removes a link, not its target). Returns the
 * fd, or -1 with errno.
 */
int statefile_open_new(const char *tmp);

/* fsync the folder holding path, so that a rename into it reaches the
 * disk too. Best effort. */
void statefile_fsync_dir(const char *path);

/*
 * The whole of a write: statefile_begin opens path's temporary (path.tmp,
 * its name into tmp) as a stream, or returns NULL with errno;
 * statefile_commit flushes it to the disk, closes it, renames it over
 * path and syncs the folder. On a failure the temporary is removed; the
 * stream is closed either way. Returns 0, or -1 with errno.
 */
#include <stdio.h>
FILE *statefile_begin(const char *path, char *tmp, size_t size);
int statefile_commit(FILE *f, const char *tmp, const char *path);

#endif
