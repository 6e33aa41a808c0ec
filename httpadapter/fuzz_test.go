package httpadapter_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
	"github.com/lockstep-go/lockstep/persist"
)

// FuzzCookie sends raw Cookie headers through the middleware, with "GOOD"
// in them replaced by the ID of a live session. Whatever the header, the
// request must not fail or panic, must see either no session or the live
// one (only if the header carries its ID, and always if it carries it in
// one of the first well-formed session cookies, whatever precedes it), and
// a Set must end up in the live session or a fresh one, never in a
// client-chosen ID.
func FuzzCookie(f *testing.F) {
	for _, seed := range []string{
		"session_id=GOOD",
		"session_id=maliciousid",
		"session_id=",
		"session_id",
		`session_id="GOOD"`,
		"a=b; session_id=GOOD; c=d",
		"session_id=junk; session_id=GOOD",
		"session_id=" + strings.Repeat("A", 43) + "; session_id=GOOD",
		"session_id=" + strings.Repeat("A", 43) + `;session_id="GOOD"`,
		"session_id=GOOD; session_id=" + strings.Repeat("A", 43),
		"session_id=" + strings.Repeat("A", 43),
		"session_id=" + strings.Repeat("A", 42) + "B", // non-canonical last character
		" session_id = GOOD ",
		"session_id=GOOD=",
		"SESSION_ID=GOOD",
		";;;=;",
		"session_id=GOODx",
		"session_id=\x00\xff",
	} {
		f.Add(seed)
	}
	eng, err := engine.New(persist.NewMemory(), engine.Config{SweepInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { eng.Close() })
	good, err := eng.Create(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	type seen struct {
		id  string
		err error
	}
	var got seen
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.err = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			got.id = s.ID()
			if r.URL.Path == "/write" {
				s.Set("k", 1)
				got.id = s.ID()
			}
			return nil
		})
	}))
	f.Fuzz(func(t *testing.T, header string) {
		header = strings.ReplaceAll(header, "GOOD", good)
		for _, path := range []string{"/read", "/write"} {
			got = seen{}
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header["Cookie"] = []string{header}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got.err != nil || rec.Code != http.StatusOK {
				t.Fatalf("%s %q: %d %v", path, header, rec.Code, got.err)
			}
			if offered(header, good) && got.id != good {
				t.Fatalf("%s %q: got session %q, want the live one it offers", path, header, got.id)
			}
			switch {
			case got.id == good:
				if !strings.Contains(header, good) {
					t.Fatalf("%s %q: got the live session without its ID", path, header)
				}
			case path == "/read" && got.id != "":
				t.Fatalf("%s %q: read saw session %q", path, header, got.id)
			case path == "/write" && (!engine.ValidID(got.id) || strings.Contains(header, got.id)):
				t.Fatalf("%s %q: write made session %q, want a fresh ID", path, header, got.id)
			}
			var cookies []*http.Cookie
			for _, c := range rec.Result().Cookies() {
				if c.Name == httpadapter.DefaultCookieName {
					cookies = append(cookies, c)
				}
			}
			switch {
			case got.id == "" && len(cookies) != 0:
				t.Fatalf("%s %q: cookies %v without a session", path, header, cookies)
			case got.id != "" && (len(cookies) != 1 || cookies[0].Value != got.id):
				t.Fatalf("%s %q: cookies %v, want one for %s", path, header, cookies, got.id)
			}
			if path == "/write" && got.id != good {
				eng.Destroy(context.Background(), got.id) // keep the store small
			}
		}
	})
}

// offered reports whether header offers id in one of the first eight
// well-formed cookies named session_id (the middleware looks no further).
// It parses the header independently of the middleware, the simple way.
func offered(header, id string) bool {
	n := 0
	for _, part := range strings.Split(header, ";") {
		name, value, ok := strings.Cut(part, "=")
		if !ok || strings.Trim(name, " \t") != httpadapter.DefaultCookieName {
			continue
		}
		value = strings.Trim(value, " \t")
		if unq, ok := strings.CutPrefix(value, `"`); ok && len(unq) > 0 {
			if unq, ok = strings.CutSuffix(unq, `"`); ok {
				value = unq
			}
		}
		if !engine.ValidID(value) {
			continue
		}
		if value == id {
			return true
		}
		if n++; n == 8 {
			return false
		}
	}
	return false
}
