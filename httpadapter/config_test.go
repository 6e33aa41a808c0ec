package httpadapter_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

// TestConfigRejected: configurations whose cookie browsers would drop or
// that http.Cookie.Valid refuses are refused by Validate and New (with an
// error naming the field), and make Middleware panic with that error.
func TestConfigRejected(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	for _, tc := range []struct {
		name  string
		field string // named in the error
		cfg   httpadapter.Config
	}{
		{"name with space", "CookieName", httpadapter.Config{CookieName: "a b"}},
		{"name with semicolon", "CookieName", httpadapter.Config{CookieName: "x;y"}},
		{"path with semicolon", "Path", httpadapter.Config{Path: "/a;b"}},
		{"path with control", "Path", httpadapter.Config{Path: "/a\nb"}},
		{"relative path", "Path", httpadapter.Config{Path: "app"}},
		{"domain with semicolon", "Domain", httpadapter.Config{Domain: "example.com; Secure"}},
		{"domain with space", "Domain", httpadapter.Config{Domain: "exa mple.com"}},
		{"host without secure", "__Host-", httpadapter.Config{CookieName: "__Host-sid"}},
		{"host with domain", "__Host-", httpadapter.Config{CookieName: "__Host-sid", Secure: true, Domain: "example.com"}},
		{"host with path", "__Host-", httpadapter.Config{CookieName: "__Host-sid", Secure: true, Path: "/app"}},
		{"host in another case", "__Host-", httpadapter.Config{CookieName: "__host-sid"}},
		{"secure prefix without secure", "__Secure-", httpadapter.Config{CookieName: "__Secure-sid"}},
		{"secure prefix in another case", "__Secure-", httpadapter.Config{CookieName: "__SECURE-sid"}},
		{"samesite none without secure", "SameSite", httpadapter.Config{SameSite: http.SameSiteNoneMode}},
		{"unknown samesite", "SameSite", httpadapter.Config{SameSite: 9}},
		{"unknown locking", "Locking", httpadapter.Config{Locking: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.Error(t, err, "Validate(%+v)", tc.cfg)
			assert.ErrorContains(t, err, tc.field, "the error does not say what is wrong")
			a, nerr := httpadapter.New(eng, tc.cfg)
			assert.Nil(t, a)
			assert.Equal(t, err, nerr, "New's error")
			assert.PanicsWithValue(t, err.Error(), func() { httpadapter.Middleware(eng, tc.cfg) })
		})
	}
	_, err := httpadapter.New(nil, httpadapter.Config{})
	assert.Error(t, err, "New with a nil engine")
}

// TestConfigAccepted: the prefixed and cross-site configurations that
// browsers accept work, and their cookie says what they need.
func TestConfigAccepted(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	for _, tc := range []struct {
		name string
		cfg  httpadapter.Config
		want http.Cookie // the attributes checked
	}{
		{"host prefix", httpadapter.Config{CookieName: "__Host-sid", Secure: true}, http.Cookie{Name: "__Host-sid", Path: "/", Secure: true}},
		{"secure prefix", httpadapter.Config{CookieName: "__Secure-sid", Secure: true, Path: "/app", Domain: "example.com"},
			http.Cookie{Name: "__Secure-sid", Path: "/app", Domain: "example.com", Secure: true}},
		{"samesite none", httpadapter.Config{SameSite: http.SameSiteNoneMode, Secure: true},
			http.Cookie{Name: "session_id", Path: "/", Secure: true, SameSite: http.SameSiteNoneMode}},
		{"leading-dot domain", httpadapter.Config{Domain: ".example.com"}, http.Cookie{Name: "session_id", Path: "/", Domain: ".example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.cfg.Validate())
			a, err := httpadapter.New(eng, tc.cfg)
			require.NoError(t, err)
			rec := httptestServe(a.Wrap(app()), "/count")
			var got *http.Cookie
			for _, c := range rec.Result().Cookies() {
				if c.Name == tc.want.Name {
					got = c
				}
			}
			require.NotNil(t, got, "no cookie named %s in %v", tc.want.Name, rec.Header())
			assert.Equal(t, tc.want.Path, got.Path)
			assert.Equal(t, tc.want.Domain, got.Domain)
			assert.Equal(t, tc.want.Secure, got.Secure)
			if tc.want.SameSite != 0 {
				assert.Equal(t, tc.want.SameSite, got.SameSite)
			}
		})
	}
}
