// Package enginekit holds what the tests of the stores shared between
// processes (persist/redisstore and persist/pgstore, each its own module,
// import this package: its path is under the library's) do alike with
// engines over them: the counter a test increments (Incr, Counter), engines
// incrementing one session together (IncrementTogether), the child roles
// that hold a session or stall in a turn (RunHolderRole), and the checks
// that a killed holder's session is taken over after its lease
// (KilledHolderIsTakenOver) and that a paused holder cannot overwrite it
// when it resumes (PausedHolderCannotOverwrite, Unix only).
//
// The functions are safe for concurrent use. They close nothing that they
// are given: the caller closes its engines and ends its children.
package enginekit
