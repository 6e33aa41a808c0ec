package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist/redisstore"
)

func TestScratchHandover(t *testing.T) {
	srv := startRedis(t)
	e1 := newEngine(t, srv, redisstore.Config{}, engine.Config{})
	e2 := newEngine(t, srv, redisstore.Config{}, engine.Config{})
	ctx := context.Background()
	id, _ := e1.Create(ctx)
	var lat []time.Duration
	for i := range 2000 {
		e := e1
		if i%2 == 0 {
			e = e2
		}
		t0 := time.Now()
		if err := incr(ctx, e, id); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	for _, p := range []float64{0.5, 0.9, 0.95, 0.99, 0.999} {
		fmt.Printf("p%v %v\n", p*100, lat[int(p*float64(len(lat)))])
	}
	var hist = map[int]int{}
	for _, d := range lat {
		hist[int(d/time.Millisecond)]++
	}
	fmt.Println(hist)
}
