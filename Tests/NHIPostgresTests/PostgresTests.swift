import Testing

/// Every suite that needs a server is nested in this one, so that the cluster starts once for the test process
/// and stops when they have all run. Without PostgreSQL the whole tree is skipped, and PostgresCluster prints
/// one line saying why; with NHI_REQUIRE_POSTGRES=1 it runs and fails instead.
@Suite(
    .postgresCluster,
    // The reason (binaries missing, no postgres user) is printed when the condition is first evaluated.
    .enabled(if: PostgresCluster.enabled, "needs PostgreSQL's initdb and pg_ctl (apt-get install postgresql)")
)
struct PostgresTests {}
