#include <libpq-fe.h>

// PG_DIAG_* are character-literal macros, which Swift does not import.
static inline int nhi_pg_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int nhi_pg_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }
static inline int nhi_pg_diag_message_detail(void) { return PG_DIAG_MESSAGE_DETAIL; }
static inline int nhi_pg_diag_constraint_name(void) { return PG_DIAG_CONSTRAINT_NAME; }

// A notice processor that drops every server NOTICE/WARNING: nothing libpq hears may reach stdout or stderr.
static void nhi_pg_ignore_notice(void *arg, const char *message) { (void)arg; (void)message; }
static inline void nhi_pg_silence_notices(PGconn *conn) { PQsetNoticeProcessor(conn, nhi_pg_ignore_notice, 0); }
