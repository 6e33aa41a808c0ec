package cli

// Backends returns every backend of the lockstep command, in the order of
// its usage text. A new kind of store is one more file with a function
// that returns its Backend, listed here.
func Backends() []Backend {
	return []Backend{Dir(), Redis(), Postgres()}
}
