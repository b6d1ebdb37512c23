#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import.
static inline sqlite3_destructor_type nhi_sqlite_transient(void) { return SQLITE_TRANSIENT; }

// sqlite3_db_config is variadic, which Swift cannot call. Leaving the WAL in place when the last connection closes
// saves each short-lived nhi process a checkpoint and its fsyncs; SQLite's automatic checkpoint (every 1000 WAL
// pages, inside a commit) still folds the WAL back into the database file.
static inline int nhi_sqlite_no_checkpoint_on_close(sqlite3 *db) {
#ifdef SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
#else
    return SQLITE_OK;
#endif
}
