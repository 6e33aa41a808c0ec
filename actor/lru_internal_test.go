package actor

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// lruKeys returns the keys of l from front to back, after checking that
// the links agree in both directions, that tail mirrors back and that
// every actor walked is marked listed.
func lruKeys(t *testing.T, l *lruList[int, int]) []int {
	t.Helper()
	var keys []int
	var prev *actor[int, int]
	for a := l.front; a != nil; a = a.next {
		require.Same(t, prev, a.prev, "prev link of %d", a.key)
		require.True(t, a.listed, "actor %d walked but not marked listed", a.key)
		keys = append(keys, a.key)
		prev = a
	}
	require.Same(t, prev, l.back, "back: got the walk's last, want back")
	require.Same(t, l.back, l.tail.Load(), "tail: got a pointer other than back")
	return keys
}

func newActors(n int) []*actor[int, int] {
	as := make([]*actor[int, int], n)
	for i := range as {
		as[i] = &actor[int, int]{key: i}
	}
	return as
}

func TestLRUOperations(t *testing.T) {
	tests := []struct {
		name string
		ops  func(l *lruList[int, int], as []*actor[int, int])
		want []int
	}{
		{"empty", func(*lruList[int, int], []*actor[int, int]) {}, nil},
		{"push keeps order", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.pushBack(as[1])
			l.pushBack(as[2])
		}, []int{0, 1, 2}},
		{"remove front", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.pushBack(as[1])
			l.pushBack(as[2])
			l.remove(as[0])
		}, []int{1, 2}},
		{"remove middle", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.pushBack(as[1])
			l.pushBack(as[2])
			l.remove(as[1])
		}, []int{0, 2}},
		{"remove back", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.pushBack(as[1])
			l.pushBack(as[2])
			l.remove(as[2])
		}, []int{0, 1}},
		{"remove only", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.remove(as[0])
		}, nil},
		{"remove twice", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.pushBack(as[1])
			l.remove(as[0])
			l.remove(as[0])
		}, []int{1}},
		{"remove unlisted", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.remove(as[1])
		}, []int{0}},
		{"move front to back", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.pushBack(as[1])
			l.pushBack(as[2])
			l.moveToBack(as[0])
		}, []int{1, 2, 0}},
		{"move middle to back", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.pushBack(as[1])
			l.pushBack(as[2])
			l.moveToBack(as[1])
		}, []int{0, 2, 1}},
		{"move back stays", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.pushBack(as[1])
			l.moveToBack(as[1])
		}, []int{0, 1}},
		{"push after remove", func(l *lruList[int, int], as []*actor[int, int]) {
			l.pushBack(as[0])
			l.pushBack(as[1])
			l.remove(as[0])
			l.pushBack(as[0])
		}, []int{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l lruList[int, int]
			as := newActors(3)
			tt.ops(&l, as)
			require.Equal(t, tt.want, lruKeys(t, &l), "got the keys front to back, want")
			for _, a := range as {
				if !slices.Contains(tt.want, a.key) {
					require.False(t, a.listed, "actor %d: got listed, want not", a.key)
					require.Nil(t, a.prev, "actor %d: got a prev link off the list", a.key)
					require.Nil(t, a.next, "actor %d: got a next link off the list", a.key)
				}
			}
		})
	}
}

// The list agrees with a slice model through a long random sequence of
// operations, as golang-lru's simplelru tests its list.
func TestLRURandomAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var l lruList[int, int]
	as := newActors(16)
	var model []int
	for range 10_000 {
		a := as[rng.IntN(len(as))]
		switch rng.IntN(3) {
		case 0:
			if !a.listed {
				l.pushBack(a)
				model = append(model, a.key)
			}
		case 1:
			l.remove(a)
			model = slices.DeleteFunc(model, func(k int) bool { return k == a.key })
		case 2:
			if a.listed {
				l.moveToBack(a)
				model = slices.DeleteFunc(model, func(k int) bool { return k == a.key })
				model = append(model, a.key)
			}
		}
		require.Equal(t, model, lruKeys(t, &l), "got the list, want the model")
	}
}

func TestLRUAllocatesNothing(t *testing.T) {
	var l lruList[int, int]
	as := newActors(3)
	for _, a := range as {
		l.pushBack(a)
	}
	allocs := testing.AllocsPerRun(100, func() {
		l.moveToBack(as[0])
		l.remove(as[1])
		l.pushBack(as[1])
	})
	require.Zero(t, allocs, "got allocations per run, want none")
}
