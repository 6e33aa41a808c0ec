package actor

import "iter"

// Keys returns the keys that have an actor: loaded, being activated or
// about to be removed. Like sync.Map.Range, it may or may not see actors
// added or removed while it runs. It takes no actor's turn.
func (r *Runtime[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		r.actors.m.Range(func(k, _ any) bool {
			return yield(k.(K))
		})
	}
}
