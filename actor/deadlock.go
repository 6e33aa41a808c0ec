package actor

import (
	"context"
	"slices"
)

// The wait-for graph. A goroutine about to wait for actor X while its
// context holds turns of actors A1..An adds an edge to X, with its ticket,
// to the waits of each Ai (publishWait) and takes it back when the wait
// ends. An edge Ai -> X thus says "a holder of Ai waits for X", for as
// long as its ticket is not granted: a waiter that got its turn waits no
// more, even before its goroutine runs again to take the edge back. The
// wait closes a cycle if X reaches one of A1..An along those edges
// (closesCycle). Every actor's waits are guarded by its own mutex, and a
// waiter publishes before it walks: of two waits that close one cycle at
// the same time, the later walk sees the earlier publication. Nothing here
// runs unless a turn has to wait.

// waitEdge is one published wait: a holder of the actor whose waits hold
// the edge waits for to, with ticket w.
type waitEdge struct {
	to any
	w  *ticket
}

// waitNode is an actor seen by the wait-for graph, whatever the runtime's
// type parameters: turns held through one context may belong to several
// runtimes.
type waitNode interface {
	addWait(x any, w *ticket)
	removeWait(w *ticket)
	waitsFor() []any
}

func (a *actor[K, V]) addWait(x any, w *ticket) {
	a.mu.Lock()
	a.waits = append(a.waits, waitEdge{x, w})
	a.mu.Unlock()
}

func (a *actor[K, V]) removeWait(w *ticket) {
	a.mu.Lock()
	if i := slices.IndexFunc(a.waits, func(e waitEdge) bool { return e.w == w }); i >= 0 {
		a.waits = slices.Delete(a.waits, i, i+1)
	}
	a.mu.Unlock()
}

// waitsFor returns what the holders of a wait for. A granted ticket is
// looked at under a.mu, while its edge is in a.waits: it cannot be reused
// for another wait meanwhile.
func (a *actor[K, V]) waitsFor() []any {
	a.mu.Lock()
	defer a.mu.Unlock()
	var to []any
	for _, e := range a.waits {
		if !e.w.granted.Load() {
			to = append(to, e.to)
		}
	}
	return to
}

// heldBy returns the actors of the live turns that ctx carries, outermost
// last, each once.
func heldBy(ctx context.Context) []waitNode {
	var held []waitNode
	for v := ctx.Value(turnKey{}); v != nil; {
		l := v.(link)
		if l.alive() {
			if n, ok := l.owner().(waitNode); ok && !slices.Contains(held, n) {
				held = append(held, n)
			}
		}
		v = l.parentLink()
	}
	return held
}

func publishWait(held []waitNode, x any, w *ticket) {
	for _, n := range held {
		n.addWait(x, w)
	}
}

func unpublishWait(held []waitNode, w *ticket) {
	for _, n := range held {
		n.removeWait(w)
	}
}

// closesCycle reports whether x reaches one of held along the edges of the
// wait-for graph, following every holder of every actor on the way.
func closesCycle(x waitNode, held []waitNode) bool {
	seen := map[waitNode]bool{x: true}
	stack := []waitNode{x}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, y := range n.waitsFor() {
			m, ok := y.(waitNode)
			if !ok {
				continue
			}
			if slices.Contains(held, m) {
				return true
			}
			if !seen[m] {
				seen[m] = true
				stack = append(stack, m)
			}
		}
	}
	return false
}
