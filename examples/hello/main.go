// Command hello is the README's first program: a visit counter whose
// concurrent requests lose nothing.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

func main() {
	eng, err := engine.Open("sessions", engine.Config{}) // session files in ./sessions
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var visits int
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			visits, _ = engine.Get[int](s, "visits")
			visits++
			s.Set("visits", visits) // the first Set creates the session and its cookie
			return nil              // an error (or a panic) would undo the Set
		})
		if err != nil {
			httpadapter.Error(w, r, err) // 503 on a lock timeout, 500 otherwise
			return
		}
		fmt.Fprintf(w, "visits: %d\n", visits)
	})
	log.Println("serving http://127.0.0.1:8080/")
	err = http.ListenAndServe("127.0.0.1:8080", httpadapter.Middleware(eng, httpadapter.Config{})(mux))
	eng.Close() // lets the sessions go; each Do's changes were written when it returned
	log.Fatal(err)
}
