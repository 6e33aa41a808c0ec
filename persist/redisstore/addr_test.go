package redisstore_test

import (
	"net"
	"strings"
	"testing"

	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want redis.UniversalOptions
	}{
		{"localhost:6379", redis.UniversalOptions{Addrs: []string{"localhost:6379"}}},
		{"redis://u:pw@h:6380/2", redis.UniversalOptions{Addrs: []string{"h:6380"}, Username: "u", Password: "pw", DB: 2}},
		{"a:7000,b:7001,c:7002", redis.UniversalOptions{Addrs: []string{"a:7000", "b:7001", "c:7002"}, IsClusterMode: true}},
		{"sentinel://mymaster@h:26379,h:26380", redis.UniversalOptions{Addrs: []string{"h:26379", "h:26380"}, MasterName: "mymaster"}},
		{"[::1]:6379", redis.UniversalOptions{Addrs: []string{"[::1]:6379"}}},
	} {
		got, err := redisstore.ParseAddr(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, *got, tc.in)
	}
	for _, bad := range []string{"", "localhost", "h:0", "h:65536", "h:x", ":6379", "a:1,", "sentinel://h:26379",
		"sentinel://@h:26379", "sentinel://m@", "redis://h:6379/x", "http://h:80"} {
		_, err := redisstore.ParseAddr(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"localhost:6379", "redis://u:pw@h:6380/2", "a:7000,b:7001", "sentinel://m@h:26379,h:26380", "rediss://h:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := redisstore.ParseAddr(s)
		if err != nil {
			return
		}
		if len(o.Addrs) == 0 {
			t.Fatalf("ParseAddr(%q): no address", s)
		}
		for _, a := range o.Addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				t.Fatalf("ParseAddr(%q): address %q: %v", s, a, err)
			}
		}
		if (o.MasterName != "") != strings.HasPrefix(s, "sentinel://") {
			t.Fatalf("ParseAddr(%q): master name %q", s, o.MasterName)
		}
		if o.IsClusterMode && (len(o.Addrs) < 2 || o.MasterName != "") {
			t.Fatalf("ParseAddr(%q): cluster of %v", s, o.Addrs)
		}
	})
}
