package cli_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/cmd/lockstep/internal/cli"
)

func TestParseRedisAddr(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want cli.RedisAddr // compared without its go-redis options
		str  string        // String(), the form in messages
	}{
		{"localhost:6379", cli.RedisAddr{Kind: cli.RedisServer, Addrs: []string{"localhost:6379"}}, "localhost:6379"},
		{"[::1]:6380", cli.RedisAddr{Kind: cli.RedisServer, Addrs: []string{"[::1]:6380"}}, "[::1]:6380"},
		{"a:7000,b:7001,c:7002", cli.RedisAddr{Kind: cli.RedisCluster, Addrs: []string{"a:7000", "b:7001", "c:7002"}}, "a:7000,b:7001,c:7002"},
		{"redis://localhost", cli.RedisAddr{Kind: cli.RedisServer, Addrs: []string{"localhost:6379"}}, "localhost:6379"},
		{"redis://u:p%40ss@h:1/3", cli.RedisAddr{Kind: cli.RedisServer, Addrs: []string{"h:1"}, Username: "u", Password: "p@ss", DB: 3}, "redis://u:xxxxx@h:1/3"},
		{"rediss://:secret@h:6380", cli.RedisAddr{Kind: cli.RedisServer, Addrs: []string{"h:6380"}, Password: "secret", TLS: true}, "rediss://:xxxxx@h:6380"},
		{"redis://u:p@a:7000,b", cli.RedisAddr{Kind: cli.RedisCluster, Addrs: []string{"a:7000", "b:6379"}, Username: "u", Password: "p"}, "redis://u:xxxxx@a:7000,b:6379"},
		{"rediss://a:7000,b:7001/0", cli.RedisAddr{Kind: cli.RedisCluster, Addrs: []string{"a:7000", "b:7001"}, TLS: true}, "rediss://a:7000,b:7001"},
		{"sentinel://s1,s2:26380/mymaster", cli.RedisAddr{Kind: cli.RedisSentinel, Addrs: []string{"s1:26379", "s2:26380"}, Master: "mymaster"}, "sentinel://s1:26379,s2:26380/mymaster"},
		{"sentinels://u:p%2Fw@[::1]:1/m%20x/2", cli.RedisAddr{Kind: cli.RedisSentinel, Addrs: []string{"[::1]:1"}, Username: "u", Password: "p/w", Master: "m x", DB: 2, TLS: true}, "sentinels://u:xxxxx@[::1]:1/m%20x/2"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := cli.ParseRedisAddr(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want.String(), got.String(), "String")
			assert.Equal(t, tt.str, got.String(), "String")
			got2, err := cli.ParseRedisAddr(tt.want.String())
			require.NoError(t, err)
			for _, a := range []cli.RedisAddr{got, got2} {
				assert.Equal(t, tt.want.Kind, a.Kind)
				assert.Equal(t, tt.want.Addrs, a.Addrs)
				assert.Equal(t, tt.want.Username, a.Username)
				assert.Equal(t, tt.want.DB, a.DB)
				assert.Equal(t, tt.want.Master, a.Master)
				assert.Equal(t, tt.want.TLS, a.TLS)
			}
			assert.Equal(t, tt.want.Password, got.Password)
		})
	}
}

func TestParseRedisAddrErrors(t *testing.T) {
	for in, msg := range map[string]string{
		"":                         "empty address",
		"localhost":                `"localhost" is not host:port`,
		"a:1,,b:2":                 `"" is not host:port`,
		"a:0":                      "port",
		"a:65536":                  "port",
		":6379":                    "has no host",
		"http://a:1":               `unknown scheme "http"`,
		"redis://a:1,b:2?x=1":      "query parameters",
		"redis://a:1,b:2/1":        "no database",
		"sentinel://s:1":           "without the primary's name",
		"sentinel://s:1/":          "without the primary's name",
		"sentinel://s:1/m/x":       `database "x" is not a number`,
		"sentinel://s:1/m/1/2":     "want /MASTER or /MASTER/DB",
		"sentinel://u:%zz@s:1/m":   "password: malformed percent-encoding",
		"redis://a b:1,c:2":        "not a host name",
		"redis://:x@[":             "",
		"redis://u:s3cret@h:99999": "",
		"redis://u:s3cret@[":       "",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := cli.ParseRedisAddr(in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), msg)
			assert.NotContains(t, err.Error(), "%zz", "an error that shows the password")
			assert.NotContains(t, err.Error(), "s3cret", "an error that shows the password")
		})
	}
}

// FuzzParseRedisAddr: whatever -redis is given, ParseRedisAddr does not
// panic; an address it accepts has a kind and host:port addresses, its
// String hides the password and parses back to the same address.
func FuzzParseRedisAddr(f *testing.F) {
	for _, seed := range []string{
		"localhost:6379", "a:1,b:2", "redis://u:p@h:1/2", "rediss://h", "redis://a:1,b:2",
		"sentinel://s1,s2:1/m/3", "sentinels://u:p@[::1]/m", "redis://:x@[", "sentinel://@/", "a:1,[::1]:2",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := cli.ParseRedisAddr(in)
		if err != nil {
			return
		}
		if a.Kind < cli.RedisServer || a.Kind > cli.RedisSentinel || len(a.Addrs) == 0 {
			t.Fatalf("ParseRedisAddr(%q) = %+v", in, a)
		}
		if a.Kind == cli.RedisSentinel && a.Master == "" {
			t.Fatalf("ParseRedisAddr(%q): a sentinel address without a primary", in)
		}
		s := a.String()
		if a.Password != "" && !strings.Contains(s, ":xxxxx@") {
			t.Fatalf("ParseRedisAddr(%q).String() = %q, want the password hidden", in, s)
		}
		if a.Password != "" {
			return
		}
		b, err := cli.ParseRedisAddr(s)
		if err != nil {
			t.Fatalf("ParseRedisAddr(%q) of String() of %q: %v", s, in, err)
		}
		if b.Kind != a.Kind || strings.Join(b.Addrs, ",") != strings.Join(a.Addrs, ",") || b.Username != a.Username ||
			b.DB != a.DB || b.Master != a.Master || b.TLS != a.TLS {
			t.Fatalf("ParseRedisAddr(%q) = %+v, and of its String %q: %+v", in, a, s, b)
		}
	})
}
