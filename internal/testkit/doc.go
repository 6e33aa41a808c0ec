// Package testkit holds what the tests of several lockstep packages share:
// the child-process harness that re-executes the running binary in a role
// (for real cross-process tests: separate flock owners, separate watchers,
// a real kill -9), the file names the file store derives from a session ID,
// the check that a session directory is at rest when a test ends
// (DirAtRest), session IDs in the engine's form, private Redis servers for
// the tests of the Redis store (persist/redisstore, its own module, imports
// this package: its path is under the library's): one server, a primary
// with replicas, a primary with a replica and three Sentinels, a six-node
// Cluster; and a private PostgreSQL server (initdb into a temporary
// directory; as root, run as the postgres user) with a PgBouncer in
// transaction pooling mode in front of it, for the PostgreSQL store's
// tests and the bench.
//
// A package whose tests start children checks Role first in its TestMain:
//
//	func TestMain(m *testing.M) {
//		if role := testkit.Role(); role != "" {
//			os.Exit(runChild(role)) // never returns to the tests
//		}
//		goleak.VerifyTestMain(m)
//	}
//
// The functions here are safe for concurrent use; the methods of a Child,
// a Redis, a Postgres or a PgBouncer are used by one goroutine at a time.
// A Child must be ended with Wait, Stop or Kill followed by Wait; StartT
// does that when the test ends. A Postgres or PgBouncer made with
// NewPostgres or NewPgBouncer must be closed; StartPostgres and
// StartPgBouncer close them when the test ends.
package testkit
