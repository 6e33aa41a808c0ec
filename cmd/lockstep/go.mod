module github.com/lockstep-go/lockstep/cmd/lockstep

go 1.26.0

require (
	github.com/jackc/pgx/v5 v5.13.0
	github.com/lockstep-go/lockstep v0.3.0
	github.com/lockstep-go/lockstep/persist/pgstore v0.3.0
	github.com/lockstep-go/lockstep/persist/redisstore v0.3.0
	github.com/redis/go-redis/v9 v9.23.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/fsnotify/fsnotify v1.10.1 // indirect
	github.com/gofrs/flock v0.13.2 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

// Development: go.work, next to this file, builds against the modules of
// this checkout, as these directives would:
//
//	replace github.com/lockstep-go/lockstep => ../..
//	replace github.com/lockstep-go/lockstep/persist/redisstore => ../../persist/redisstore
//	replace github.com/lockstep-go/lockstep/persist/pgstore => ../../persist/pgstore
//
// They stay out of go.mod because "go install
// github.com/lockstep-go/lockstep/cmd/lockstep@latest" refuses a module
// whose go.mod has replace directives. Dependents, and go install, get the
// versions required above; see RELEASING.md for how they are bumped.
