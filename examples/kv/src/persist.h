/* persist.h: kv's append-only log on a disk (<unicycle/block.h>): replay at boot, group commit, compaction. */
#ifndef KV_PERSIST_H
#define KV_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "commands.h"
#include "config.h"
#include "store.h"

/*
 * The log (format in logrec.h) lives on the disk whose serial is
 * cfg->disk. Every op list the store accepts is appended as one record;
 * at boot the records are replayed into the store before clients are
 * accepted. Records go to the disk in groups: one write (+ flush) is on
 * the disk at a time and whatever commands ran meanwhile go out together
 * with the next one.
 *
 * appendfsync (when is a write command's record on stable storage):
 *   always    the reply waits until the flush after its record completed
 *             (persist_durable()); a power cut loses no acknowledged write
 *   everysec  the record is written at once, the reply does not wait; a
 *             flush goes to the disk every second: a power cut loses at
 *             most the last second or so
 *   no        written at once, never flushed: the disk's own cache decides
 * A compaction writes the live keys to the other area, flushes, then
 * switches by writing a header with the next generation and flushing
 * again (in every mode): until that flush the old log is the log, after
 * it the new one, so a power cut during compaction loses nothing.
 *
 * A record that fails its checksum, or is cut short, ends the log: replay
 * stops there with one console message and compacts at once (so later
 * appends never sit next to the bad bytes). A disk or memory error while
 * logging stops the server (uc_exit(1)) rather than acknowledge a write
 * it could not log.
 */

/* Finds the disk, replays the log into `store` (with no memory limit:
 * what was accepted once is loaded), then runs ready() from the event
 * loop. Without the disk or with appendonly=no: says so and runs ready()
 * at once; every other persist_* call is then a no-op. */
void persist_start(const struct config *cfg, struct store *store, void (*ready)(void));

/* True when a log is being kept. */
bool persist_enabled(void);

/* The store's clock: milliseconds since boot, moved forward so that it
 * never runs behind the last record replayed (kv has no wall clock: time
 * while the server is down does not count toward deadlines). */
int64_t persist_now_ms(void);

/* The hooks commands_exec() calls (NULL when no log is kept). */
const struct commands_log *persist_hooks(void);

/* Records appended since boot: a reply to a command that appended
 * record `lsn` may go out once persist_durable(lsn) says so. */
uint64_t persist_lsn(void);
bool persist_durable(uint64_t lsn);
/* fn() runs each time more records became durable. */
void persist_on_durable(void (*fn)(void));

#endif
