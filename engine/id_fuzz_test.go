package engine_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// FuzzValidID checks ValidID against the definition (the canonical
// base64url encoding of 32 bytes) and that an ID from outside never reaches
// the store unless it is valid, and is never adopted as a session.
func FuzzValidID(f *testing.F) {
	f.Add("")
	f.Add("maliciousid")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")
	f.Add("../../../../etc/passwd")
	store := newRecordingStore()
	e, err := engine.New(store, engine.Config{SweepInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, id string) {
		raw, err := base64.RawURLEncoding.Strict().DecodeString(id)
		want := err == nil && len(raw) == 32 && base64.RawURLEncoding.EncodeToString(raw) == id
		if got := engine.ValidID(id); got != want {
			t.Fatalf("ValidID(%q) = %v, want %v", id, got, want)
		}
		err = e.Do(context.Background(), id, func(context.Context, *engine.Session) error { return nil })
		if !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("Do(%q) = %v, want ErrNotFound", id, err)
		}
		if !want && store.count(store.locks, id) != 0 {
			t.Fatalf("malformed ID %q reached the store", id)
		}
		if n := store.Store.(*persist.Memory).Len(); n != 0 {
			t.Fatalf("a client-supplied ID was adopted (%d records)", n)
		}
	})
}
