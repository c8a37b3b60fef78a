#ifndef TINYMPQ_CINOTIFYTOOLS_SHIM_H
#define TINYMPQ_CINOTIFYTOOLS_SHIM_H
#include <inotifytools/inotifytools.h>
#include <inotifytools/inotify.h>
#include <errno.h>

/// The event's file name (Swift does not import the flexible array member).
static inline const char *cit_event_name(const struct inotify_event *e) { return e->len ? e->name : ""; }

/// The events tinympq watches for. IN_MODIFY restarts the settle period on every write, so a
/// slow writer is not picked up between two of its writes.
static inline int cit_watch_mask(void) {
    return IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF;
}
#endif
