/*
 * Removing a directory tree, for the programs that make scratch directories
 * (work directories, states, temporary stores).
 */
#ifndef FSTORE_SUPPORT_FILES_H
#define FSTORE_SUPPORT_FILES_H

/**
 * Removes @p path and everything below it, depth first, without following
 * symbolic links (a link is removed, not what it points to). An entry that
 * cannot be removed is left, and the rest still goes; a missing @p path is
 * no error.
 * @return 0, or -1 with errno set when the tree could not be walked.
 */
int sup_rm_tree(const char *path);

#endif
