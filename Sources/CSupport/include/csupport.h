#ifndef TINYMPQ_CSUPPORT_H
#define TINYMPQ_CSUPPORT_H

/// Atomically swaps two paths (renameat2 RENAME_EXCHANGE). Returns 0 or -1 with errno set.
int cs_rename_exchange(const char *from, const char *to);

/// Renames `from` to `to` only if `to` does not exist (RENAME_NOREPLACE). 0 or -1 with errno.
int cs_rename_noreplace(const char *from, const char *to);

#endif
