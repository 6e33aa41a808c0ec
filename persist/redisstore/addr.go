package redisstore

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ParseAddr parses a Redis address as an operator writes it, into options
// for redis.NewUniversalClient:
//
//   - host:port: one server;
//   - redis://... or rediss://...: one server, as redis.ParseURL reads it
//     (user, password, database, TLS);
//   - host:port,host:port,...: the nodes of a Redis Cluster;
//   - sentinel://NAME@host:port[,host:port...]: the primary that the
//     Sentinels at those addresses monitor under NAME.
//
// It returns an error for anything else.
func ParseAddr(s string) (*redis.UniversalOptions, error) {
	switch {
	case strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://"):
		o, err := redis.ParseURL(s)
		if err != nil {
			return nil, fmt.Errorf("redisstore: address %q: %w", s, err)
		}
		return &redis.UniversalOptions{Addrs: []string{o.Addr}, Username: o.Username, Password: o.Password,
			DB: o.DB, TLSConfig: o.TLSConfig}, nil
	case strings.HasPrefix(s, "sentinel://"):
		name, list, ok := strings.Cut(strings.TrimPrefix(s, "sentinel://"), "@")
		if !ok || name == "" {
			return nil, fmt.Errorf("redisstore: address %q: want sentinel://NAME@host:port[,host:port...]", s)
		}
		addrs, err := hostPorts(list)
		if err != nil {
			return nil, fmt.Errorf("redisstore: address %q: %w", s, err)
		}
		return &redis.UniversalOptions{Addrs: addrs, MasterName: name}, nil
	}
	addrs, err := hostPorts(s)
	if err != nil {
		return nil, fmt.Errorf("redisstore: address %q: %w", s, err)
	}
	return &redis.UniversalOptions{Addrs: addrs, IsClusterMode: len(addrs) > 1}, nil
}

// hostPorts splits a comma-separated list of host:port.
func hostPorts(list string) ([]string, error) {
	addrs := strings.Split(list, ",")
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, err
		}
		if host == "" || strings.ContainsAny(host, "/@?#") {
			return nil, fmt.Errorf("bad host in %q", a)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("port " + strconv.Quote(port) + " is not a number from 1 to 65535")
		}
	}
	return addrs, nil
}
