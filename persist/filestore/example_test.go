package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// Open a session directory, lock a session, read and write its record.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := filestore.Open(dir, filestore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	ctx := context.Background()
	id := "q8VwHvSX0Q6xZc1t3g5v2mS7d0fWb9nYkPa4rLh6eJU" // validated by the engine
	l, err := store.Lock(ctx, id, func() {
		// Another process wants the session: release it soon.
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := l.Load(); errors.Is(err, persist.ErrNotFound) {
		fmt.Println("new session")
	}
	now := time.Now()
	if err := l.Save(persist.Record{Created: now, Expires: now.Add(time.Hour), Data: []byte("values")}, false); err != nil {
		log.Fatal(err)
	}
	rec, err := l.Load()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", rec.Data)
	if err := l.Release(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// new session
	// values
}
