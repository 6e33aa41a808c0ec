package cli_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"os"
	"time"

	"github.com/lockstep-go/lockstep/cmd/lockstep/internal/cli"
	"github.com/lockstep-go/lockstep/persist"
)

// Main runs one command line over a store: here a Memory, through a
// Backend of its own (-memory NAME), as Backends do with theirs.
func ExampleMain() {
	m := persist.NewMemory()
	var data bytes.Buffer
	_ = gob.NewEncoder(&data).Encode(map[string]any{"cart": []string{"tea"}, "visits": 2})
	l, _ := m.Lock(context.Background(), "a session id", nil)
	_ = l.Save(persist.Record{
		Created: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC),
		Owner:   "alice",
		Data:    data.Bytes(),
	}, false)
	_ = l.Release()

	backend := memBackend(m)
	key := persist.Key("a session id")
	for _, args := range [][]string{
		{"ls"}, {"ls", "-json"}, {"show", key}, {"show", "-json", key},
		{"revoke", "-owner", "alice"}, {"ls"}, {"show", "nope"},
	} {
		code := cli.Main(context.Background(), "lockstep", append([]string{"-memory", "m"}, args...), os.Stdout, os.Stdout, backend)
		fmt.Println("exit status", code)
	}
	// Output:
	// 14b952bd6fac5946e00b52445c96c43b455e09bc03058e32809f47aa93c0ac57  alice  2025-06-01T10:00:00Z  never  75  unlocked
	// exit status 0
	// {"key":"14b952bd6fac5946e00b52445c96c43b455e09bc03058e32809f47aa93c0ac57","owner":"alice","created":"2025-06-01T10:00:00Z","expires":null,"expires_exact":true,"bytes":75,"locked":false}
	// exit status 0
	// key       14b952bd6fac5946e00b52445c96c43b455e09bc03058e32809f47aa93c0ac57
	// owner     alice
	// created   2025-06-01T10:00:00Z
	// expires   never
	// bytes     75
	// locked    no
	// values    2
	//   cart    []string  []string{"tea"}
	//   visits  int       2
	// exit status 0
	// {"key":"14b952bd6fac5946e00b52445c96c43b455e09bc03058e32809f47aa93c0ac57","record":{"owner":"alice","created":"2025-06-01T10:00:00Z","expires":null,"expires_exact":true,"bytes":75,"locked":false,"values":[{"name":"cart","type":"[]string","value":"[]string{\"tea\"}"},{"name":"visits","type":"int","value":"2"}]},"quarantined":[]}
	// exit status 0
	// destroyed 1
	// exit status 0
	// lockstep: no sessions in -memory m
	// exit status 0
	// lockstep: show: "nope" is not a session key (64 lowercase hex characters) (lockstep -h for usage)
	// exit status 2
}
