/* Snapshots and restore (snapshot.c): what other modules need besides the
 * public calls. */
#ifndef FSTORE_SNAPSHOT_H
#define FSTORE_SNAPSHOT_H

/* Removes from store directory dir what restores that died there left
 * (their DIR/.restore-PID work directories); a live one's stays. */
void fs_restore_leftovers(const char *dir);

#endif
