package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RedisKind is the kind of Redis deployment an address names.
type RedisKind int

const (
	RedisServer   RedisKind = iota + 1 // one server (a primary, or a proxy)
	RedisCluster                       // a Redis Cluster: its seed nodes
	RedisSentinel                      // a primary found through Sentinel
)

// RedisAddr is a parsed -redis address.
type RedisAddr struct {
	Kind     RedisKind
	Addrs    []string // host:port of the server, the Cluster's seed nodes, or the sentinels
	Username string
	Password string
	DB       int    // the database number; 0 for a Cluster
	Master   string // RedisSentinel: the name the sentinels know the primary by
	TLS      bool   // rediss:// or sentinels://

	url *redis.Options // a redis[s]:// URL of one server, as go-redis reads it
}

// Default ports of the forms without one.
const (
	redisPort    = "6379"
	sentinelPort = "26379"
)

// ParseRedisAddr reads the value of -redis, one of:
//
//	host:port                                  one server
//	host:port,host:port,...                    a Redis Cluster, by some of its nodes
//	redis://[USER:PASS@]HOST[:PORT][/DB][?...] one server, as go-redis's ParseURL reads it
//	rediss://...                               the same over TLS
//	redis[s]://[USER:PASS@]HOST:PORT,HOST:PORT a Redis Cluster, with credentials (and TLS)
//	sentinel[s]://[USER:PASS@]HOST:PORT,HOST:PORT/MASTER[/DB]
//	                                           the primary that the sentinels at HOST:PORT
//	                                           (default port 26379) name MASTER
//
// USER and PASS are those of the Redis servers (the sentinels are asked
// without them); they are percent-encoded where they hold ':', '@' or
// '/'. A port missing from a URL is 6379 (26379 for a sentinel).
func ParseRedisAddr(s string) (RedisAddr, error) {
	if s == "" {
		return RedisAddr{}, errors.New("empty address")
	}
	scheme, rest, isURL := strings.Cut(s, "://")
	if !isURL {
		addrs, err := hostPorts(s, "")
		if err != nil {
			return RedisAddr{}, err
		}
		if len(addrs) == 1 {
			return RedisAddr{Kind: RedisServer, Addrs: addrs}, nil
		}
		return RedisAddr{Kind: RedisCluster, Addrs: addrs}, nil
	}
	var a RedisAddr
	port := redisPort
	switch scheme {
	case "redis", "rediss":
		a.TLS = scheme == "rediss"
		if host, _, _ := strings.Cut(rest, "/"); !strings.Contains(host, ",") {
			opt, err := redis.ParseURL(s)
			if err != nil {
				return RedisAddr{}, hidePassword(err, rest)
			}
			if _, err := hostPorts(opt.Addr, ""); err != nil {
				return RedisAddr{}, err
			}
			a.Kind, a.Addrs, a.Username, a.Password, a.DB, a.url = RedisServer, []string{opt.Addr}, opt.Username, opt.Password, opt.DB, opt
			return a, nil
		}
		a.Kind = RedisCluster
	case "sentinel", "sentinels":
		a.Kind, a.TLS, port = RedisSentinel, scheme == "sentinels", sentinelPort
	default:
		return RedisAddr{}, fmt.Errorf("unknown scheme %q (want redis, rediss, sentinel or sentinels)", scheme)
	}
	if strings.ContainsAny(rest, "?#") {
		return RedisAddr{}, errors.New("query parameters work only in a redis:// URL of one server")
	}
	authority, path, _ := strings.Cut(rest, "/")
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		user, pass, _ := strings.Cut(authority[:at], ":")
		var err error
		if a.Username, err = url.PathUnescape(user); err != nil {
			return RedisAddr{}, fmt.Errorf("user name: %w", err)
		}
		if a.Password, err = url.PathUnescape(pass); err != nil {
			return RedisAddr{}, errors.New("password: malformed percent-encoding")
		}
		authority = authority[at+1:]
	}
	var err error
	if a.Addrs, err = hostPorts(authority, port); err != nil {
		return RedisAddr{}, err
	}
	parts := strings.Split(path, "/")
	if path == "" {
		parts = nil
	}
	switch a.Kind {
	case RedisCluster:
		if len(parts) > 1 || len(parts) == 1 && parts[0] != "" && parts[0] != "0" {
			return RedisAddr{}, fmt.Errorf("a Redis Cluster has no database %q (only 0)", path)
		}
	case RedisSentinel:
		if len(parts) == 0 || parts[0] == "" {
			return RedisAddr{}, errors.New("sentinel address without the primary's name (sentinel://HOST:PORT,.../MASTER[/DB])")
		}
		if a.Master, err = url.PathUnescape(parts[0]); err != nil {
			return RedisAddr{}, fmt.Errorf("primary name: %w", err)
		}
		switch {
		case len(parts) == 2:
			if a.DB, err = strconv.Atoi(parts[1]); err != nil || a.DB < 0 {
				return RedisAddr{}, fmt.Errorf("database %q is not a number", parts[1])
			}
		case len(parts) > 2:
			return RedisAddr{}, fmt.Errorf("path %q: want /MASTER or /MASTER/DB", "/"+path)
		}
	}
	return a, nil
}

// hidePassword returns err with the password of the URL whose part after
// the scheme is rest replaced by xxxxx: url.Parse's errors quote the URL.
func hidePassword(err error, rest string) error {
	authority, _, _ := strings.Cut(rest, "/")
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return err
	}
	_, pass, _ := strings.Cut(authority[:at], ":")
	if pass == "" || !strings.Contains(err.Error(), pass) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pass, "xxxxx"))
}

// hostPorts splits a comma-separated list of host:port. A missing port is
// defPort, or an error if defPort is "".
func hostPorts(s, defPort string) ([]string, error) {
	var addrs []string
	for _, hp := range strings.Split(s, ",") {
		host, port, err := net.SplitHostPort(hp)
		if err != nil && defPort != "" {
			if h, ok := strings.CutPrefix(hp, "["); ok && strings.HasSuffix(h, "]") {
				host, port, err = strings.TrimSuffix(h, "]"), defPort, nil
			} else if !strings.ContainsAny(hp, ":[]") {
				host, port, err = hp, defPort, nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%q is not host:port", hp)
		}
		if host == "" {
			return nil, fmt.Errorf("%q has no host", hp)
		}
		if strings.ContainsAny(host, "/@?# ") {
			return nil, fmt.Errorf("%q is not a host name", host)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %q is not a number from 1 to 65535", hp, port)
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	return addrs, nil
}

// String returns the address for messages, without the password.
func (a RedisAddr) String() string {
	user := ""
	if a.Username != "" || a.Password != "" {
		user = url.PathEscape(a.Username)
		if a.Password != "" {
			user += ":xxxxx"
		}
		user += "@"
	}
	scheme := "redis"
	if a.Kind == RedisSentinel {
		scheme = "sentinel"
	}
	if a.TLS {
		scheme += "s"
	}
	path := ""
	if a.Kind == RedisSentinel {
		path = "/" + url.PathEscape(a.Master)
	}
	if a.DB != 0 {
		path += "/" + strconv.Itoa(a.DB)
	}
	hosts := strings.Join(a.Addrs, ",")
	if scheme == "redis" && user == "" && path == "" {
		return hosts
	}
	return scheme + "://" + user + hosts + path
}

// client returns a client of a; the caller closes it.
func (a RedisAddr) client() redis.UniversalClient {
	var tc *tls.Config
	if a.TLS {
		host, _, _ := net.SplitHostPort(a.Addrs[0])
		tc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	switch a.Kind {
	case RedisCluster:
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: a.Addrs, Username: a.Username, Password: a.Password, TLSConfig: tc})
	case RedisSentinel:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: a.Master, SentinelAddrs: a.Addrs, Username: a.Username, Password: a.Password, DB: a.DB, TLSConfig: tc,
		})
	}
	if a.url != nil {
		return redis.NewClient(a.url)
	}
	return redis.NewClient(&redis.Options{Addr: a.Addrs[0], Username: a.Username, Password: a.Password, DB: a.DB, TLSConfig: tc})
}
