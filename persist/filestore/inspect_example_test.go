package filestore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// Sessions finds stored sessions without their IDs, here those of one
// owner; Inspect reads one by key, and LockKey locks it by key, asking a
// live holder to hand it over, as Lock does.
func ExampleStore_Sessions() {
	dir, _ := os.MkdirTemp("", "sessions")
	defer os.RemoveAll(dir)
	d, _ := filestore.Open(dir, filestore.Config{})
	defer d.Close()
	ctx := context.Background()
	for _, s := range []struct{ id, owner string }{{"id-1", "alice"}, {"id-2", "bob"}} {
		l, _ := d.Lock(ctx, s.id, nil)
		_ = l.Save(persist.Record{Created: time.Now(), Owner: s.owner, Data: []byte("values")}, false)
		_ = l.Release()
	}

	_ = d.Sessions(ctx, "alice", func(info persist.Info) error {
		fmt.Println(info.Key == persist.Key("id-1"), info.Owner, info.Locked)
		return nil
	})
	rec, _, _ := d.Inspect(ctx, persist.Key("id-2"))
	fmt.Println(rec.Owner, string(rec.Data))
	l, _ := d.LockKey(ctx, persist.Key("id-2"), nil)
	_ = l.Delete()
	_, _, err := d.Inspect(ctx, persist.Key("id-2"))
	fmt.Println(err)
	// Output:
	// true alice false
	// bob values
	// persist: session not found
}
