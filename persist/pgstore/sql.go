package pgstore

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// sweepBatch is how many rows one statement of Sweep deletes at most.
const sweepBatch = 500

// listBatch is how many rows Sessions reads per statement.
const listBatch = 1000

// queries are the statements of a Store, written for its table. $1 is
// always the session's key where there is one; times of records are Unix
// nanoseconds (NULL for the zero time); lease deadlines are the server's
// clock_timestamp().
//
// The indexes leave out every column a Save changes (data, expires,
// version, the lease; sweep_at changes at most once a minute), so that a Save is a HOT update, which
// writes no index: Sweep finds expired records through sweep_at, the
// expiry rounded down to the minute (see sweepAt), which moves at most
// once a minute; rows that hold only a lease have the smallest bigint
// there, so that Sweep finds them through the same index.
type queries struct {
	ddl     []string // CREATE ... IF NOT EXISTS, in order
	objects []string // the quoted names of the relations ddl creates
	saveFn  string   // the signature of the save function ddl creates
	exist   string   // whether every one of objects and saveFn exists

	take, ask, load, save, release, del, quarantine string
	renew, wants                                    string
	sweep, busy, orphans                            string
	list, listOwner, inspect, quarantined, quarAll  string
}

// tableName is a table name, which may be schema-qualified.
type tableName []string

// parseTable checks a table name: name or schema.name.
func parseTable(table string) (tableName, error) {
	parts := strings.Split(table, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("pgstore: table %q: want name or schema.name", table)
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("pgstore: table %q: empty name", table)
		}
	}
	return parts, nil
}

// sibling returns the quoted name of the relation named after the table's
// last part with suffix, in the table's schema.
func (n tableName) sibling(suffix string) string {
	s := append(pgx.Identifier{}, n...)
	s[len(s)-1] += suffix
	return s.Sanitize()
}

// held is true for a row whose lease is alive.
const held = `(lease_token IS NOT NULL AND lease_until > clock_timestamp())`

// free is true for a row whose lease is not.
const free = `(lease_token IS NULL OR lease_until <= clock_timestamp())`

// recent is true for a row whose hand-over request is recent enough to
// act on: a request left by a waiter that gave up soon stops asking.
const recent = `coalesce(wanted > clock_timestamp() - interval '1 second', false)`

func newQueries(n tableName) queries {
	t, q := n.sibling(""), n.sibling("_quarantine")
	base := n[len(n)-1]
	idx := func(suffix string) string { return pgx.Identifier{base + suffix}.Sanitize() }
	r := strings.NewReplacer("$T", t, "$Q", q, "$SAVE", n.sibling("_save1"), "$HELD", held, "$FREE", free)
	return queries{
		objects: []string{t, q, n.sibling("_owner"), n.sibling("_sweep_at"), n.sibling("_wanted"), n.sibling("_quarantine_key")},
		saveFn:  n.sibling("_save1") + "(text, text, bigint, bytea, text, bigint, bigint, bigint)",
		exist:   `SELECT bool_and(to_regclass(o) IS NOT NULL) AND to_regprocedure($2) IS NOT NULL FROM unnest($1::text[]) AS o`,
		ddl: []string{
			r.Replace(`CREATE TABLE IF NOT EXISTS $T (
	key         text PRIMARY KEY,
	data        bytea,
	owner       text NOT NULL DEFAULT '',
	created     bigint,
	expires     bigint,
	sweep_at    bigint DEFAULT -9223372036854775808,
	version     bigint NOT NULL DEFAULT 0,
	lease_token text,
	lease_until timestamptz,
	wanted      timestamptz
) WITH (fillfactor = 70)`),
			r.Replace(`CREATE INDEX IF NOT EXISTS ` + idx("_owner") + ` ON $T (owner)`),
			r.Replace(`CREATE INDEX IF NOT EXISTS ` + idx("_sweep_at") + ` ON $T (sweep_at) WHERE sweep_at IS NOT NULL`),
			r.Replace(`CREATE INDEX IF NOT EXISTS ` + idx("_wanted") + ` ON $T (wanted) WHERE wanted IS NOT NULL`),
			r.Replace(`CREATE TABLE IF NOT EXISTS $Q (
	key     text NOT NULL,
	at      bigint NOT NULL,
	owner   text NOT NULL DEFAULT '',
	created bigint,
	expires bigint,
	data    bytea NOT NULL,
	cause   text NOT NULL DEFAULT ''
)`),
			r.Replace(`CREATE INDEX IF NOT EXISTS ` + idx("_quarantine_key") + ` ON $Q (key)`),
			// A Save: PL/pgSQL keeps the UPDATE's plan for the life of the
			// server connection, where a statement sent without a prepared
			// statement is planned on every call.
			r.Replace(`CREATE OR REPLACE FUNCTION $SAVE(k text, tok text, v bigint, d bytea, o text, c bigint, e bigint, sa bigint)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE n bigint;
BEGIN
	UPDATE $T SET data = d, owner = o, created = c, expires = e, sweep_at = sa, version = version + 1
	WHERE key = k AND lease_token = tok AND version = v;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$fn$`),
		},

		// Take the lease if it is free, returning the record.
		take: r.Replace(`INSERT INTO $T AS s (key, lease_token, lease_until)
VALUES ($1, $2, clock_timestamp() + $3::bigint * interval '1 millisecond')
ON CONFLICT (key) DO UPDATE
SET lease_token = excluded.lease_token, lease_until = excluded.lease_until, wanted = NULL
WHERE s.lease_token IS NULL OR s.lease_until <= clock_timestamp()
RETURNING data, owner, created, expires, version`),
		// Ask the holder to hand over: mark the row and notify.
		ask: r.Replace(`WITH a AS (UPDATE $T SET wanted = clock_timestamp() WHERE key = $1 AND lease_token IS NOT NULL RETURNING 1)
SELECT count(*) FROM a WHERE pg_notify($2, $3) IS NOT NULL`),
		load: r.Replace(`SELECT data, owner, created, expires, version FROM $T WHERE key = $1 AND lease_token = $2`),
		// Save through the save function: 1 if it wrote, 0 if the lease
		// or the version was not the caller's.
		save: r.Replace(`SELECT $SAVE($1, $2, $3, $4, $5, $6, $7, $8)`),
		// End the lease: a row without a record goes, one with a record
		// stays; a waiter that asked is notified.
		release: r.Replace(`WITH d AS (DELETE FROM $T WHERE key = $1 AND lease_token = $2 AND data IS NULL RETURNING wanted),
u AS (UPDATE $T SET lease_token = NULL, lease_until = NULL, wanted = NULL
	WHERE key = $1 AND lease_token = $2 AND data IS NOT NULL RETURNING wanted),
r AS (SELECT wanted FROM d UNION ALL SELECT wanted FROM u)
SELECT count(*) FROM r WHERE wanted IS NULL OR pg_notify($3, $4) IS NOT NULL`),
		// Delete the row if the record is the holder's ($3 < 0: any).
		del: r.Replace(`WITH d AS (DELETE FROM $T WHERE key = $1 AND lease_token = $2 AND ($3::bigint < 0 OR version = $3::bigint) RETURNING wanted)
SELECT count(*) FROM d WHERE wanted IS NULL OR pg_notify($4, $5) IS NOT NULL`),
		// Move the record to the quarantine table and end the lease.
		quarantine: r.Replace(`WITH d AS (DELETE FROM $T WHERE key = $1 AND lease_token = $2
	RETURNING key, owner, created, expires, data, wanted),
i AS (INSERT INTO $Q (key, at, owner, created, expires, data, cause)
	SELECT key, $3, owner, created, expires, data, $4 FROM d WHERE data IS NOT NULL RETURNING 1)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM i),
	(SELECT count(*) FROM d WHERE wanted IS NOT NULL AND pg_notify($5, $6) IS NOT NULL)`),

		// Renew every lease of a Store at once; report the requests.
		renew: r.Replace(`UPDATE $T AS s SET lease_until = clock_timestamp() + $3::bigint * interval '1 millisecond'
FROM unnest($1::text[], $2::text[]) AS h(key, token)
WHERE s.key = h.key AND s.lease_token = h.token
RETURNING s.key, ` + strings.ReplaceAll(recent, "wanted", "s.wanted")),
		// The recent requests, through the index on wanted.
		wants: r.Replace(`SELECT key, lease_token FROM $T WHERE wanted > clock_timestamp() - interval '1 second'`),

		sweep: r.Replace(`WITH c AS (SELECT key FROM $T WHERE sweep_at <= $1 AND expires <= $1 AND $FREE
	ORDER BY sweep_at LIMIT $2 FOR UPDATE SKIP LOCKED)
DELETE FROM $T AS s USING c WHERE s.key = c.key AND s.expires <= $1
	AND (s.lease_token IS NULL OR s.lease_until <= clock_timestamp())
RETURNING s.key, s.owner, s.created, s.expires, octet_length(s.data)`),
		busy: r.Replace(`SELECT count(*) FROM $T WHERE sweep_at <= $1 AND expires <= $1 AND $HELD`),
		orphans: r.Replace(`WITH c AS (SELECT key FROM $T WHERE sweep_at <= $1 AND data IS NULL AND $FREE
	LIMIT $2 FOR UPDATE SKIP LOCKED)
DELETE FROM $T AS s USING c WHERE s.key = c.key AND s.data IS NULL
	AND (s.lease_token IS NULL OR s.lease_until <= clock_timestamp())`),

		list: r.Replace(`SELECT key, owner, created, expires, octet_length(data), $HELD FROM $T
WHERE data IS NOT NULL AND key > $1 ORDER BY key LIMIT $2`),
		listOwner: r.Replace(`SELECT key, owner, created, expires, octet_length(data), $HELD FROM $T
WHERE data IS NOT NULL AND owner = $3 AND key > $1 ORDER BY key LIMIT $2`),
		inspect:     r.Replace(`SELECT data, owner, created, expires, $HELD FROM $T WHERE key = $1 AND data IS NOT NULL`),
		quarantined: r.Replace(`SELECT key, at, owner, created, expires, data FROM $Q WHERE key = $1`),
		quarAll:     r.Replace(`SELECT key, at, owner, created, expires, data FROM $Q`),
	}
}
