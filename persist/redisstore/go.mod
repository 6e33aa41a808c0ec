module github.com/lockstep-go/lockstep/persist/redisstore

go 1.26.0

require (
	github.com/lockstep-go/lockstep v0.3.0
	github.com/redis/go-redis/v9 v9.23.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/fsnotify/fsnotify v1.10.1 // indirect
	github.com/gofrs/flock v0.13.2 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

// Development only: build against the modules of this checkout. Dependents
// ignore replace directives and get the versions required above; see
// RELEASING.md for how those versions are bumped.
replace github.com/lockstep-go/lockstep => ../..
