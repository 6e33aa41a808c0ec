package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/engine"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestApp(t *testing.T) {
	eng, err := engine.Open(t.TempDir(), engine.Config{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	srv := httptest.NewServer(newHandler(eng, time.Millisecond))
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cookie := ""
	do := func(method, path string, form url.Values) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, c := range resp.Cookies() {
			cookie = c.Name + "=" + c.Value
			if c.MaxAge < 0 {
				cookie = ""
			}
		}
		return resp, string(body)
	}

	if _, body := do("GET", "/", nil); !strings.Contains(body, "Visit 1") {
		t.Fatalf("first visit: %s", body)
	}
	if _, body := do("GET", "/", nil); !strings.Contains(body, "Visit 2") {
		t.Fatalf("second visit: %s", body)
	}
	before := cookie
	if resp, _ := do("POST", "/login", url.Values{"user": {"ann"}}); resp.StatusCode != http.StatusSeeOther || cookie == before {
		t.Fatalf("login: %s, cookie %q (before %q): want a redirect and a new ID", resp.Status, cookie, before)
	}
	if _, body := do("GET", "/", nil); !strings.Contains(body, "Visit 3") || !strings.Contains(body, "ann") {
		t.Fatalf("after login: %s", body)
	}
	if _, body := do("GET", "/slow", nil); !strings.Contains(body, `slow run 1 for "ann"`) {
		t.Fatalf("slow: %s", body)
	}
	if resp, _ := do("POST", "/logout", nil); resp.StatusCode != http.StatusSeeOther || cookie != "" {
		t.Fatalf("logout: %s, cookie %q: want a redirect and the cookie expired", resp.Status, cookie)
	}
	if _, body := do("GET", "/", nil); !strings.Contains(body, "Visit 1") || strings.Contains(body, "ann") {
		t.Fatalf("after logout: %s", body)
	}
}
