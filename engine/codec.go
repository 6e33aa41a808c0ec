package engine

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"time"
)

// EncodeError is returned, wrapped, by the Do (or Turn.Do) whose fn
// stored a session value that encoding/gob cannot encode: every value a Do
// changed is encoded, alone, when its fn returns, and if one fails that
// Do's changes are rolled back and nothing is written. Should the values
// fail only together (a Config.Codec of the application's may), the
// commit reports it instead: the outermost Do, Turn.Commit or Turn.End,
// which then roll back all the turn's uncommitted changes. Match it with
// errors.As. The usual remedy is gob.Register of the value's type, and of
// the types it holds in interface fields, before the engine loads
// sessions; a struct also needs exported fields (or its own GobEncoder). A
// func, a chan or an unsafe.Pointer (or a slice, map or pointer of them)
// can never be encoded, and Error says so instead.
//
// With a Config.Codec of the application's, an EncodeError names the key
// that its codec cannot encode, found by encoding the values one at a
// time, and Err is the codec's error.
type EncodeError struct {
	Key  string       // the first key, in sorted order, whose value fails
	Type reflect.Type // the value's type (nil for a nil interface)
	Err  error        // the codec's error (encoding/gob's by default)

	custom bool // from a Config.Codec: no advice about gob
}

// Error names the key and the type of the value, the codec's error and,
// for encoding/gob, the remedy: gob.Register, or, for a value that gob can
// never encode (a func, a chan, an unsafe.Pointer, or a pointer, slice,
// array or map of them), storing something else.
func (e *EncodeError) Error() string {
	if e.custom {
		return fmt.Sprintf("value %q of type %v cannot be encoded: %v", e.Key, e.Type, e.Err)
	}
	if gobNever(e.Type, 0) {
		return fmt.Sprintf("value %q of type %v cannot be encoded: %v (encoding/gob never encodes a func, a chan or an unsafe.Pointer, registered or not: keep it outside the session and store the data it stands for)",
			e.Key, e.Type, e.Err)
	}
	return fmt.Sprintf("value %q of type %v cannot be encoded: %v (register its type, and the types it holds in interfaces, with gob.Register; a struct needs exported fields)",
		e.Key, e.Type, e.Err)
}

// gobNever reports whether encoding/gob can never encode a value of type
// t, whatever is registered: t is, or holds through pointers, slices,
// arrays and maps, a func, a chan or an unsafe.Pointer. (A struct field of
// those kinds is skipped by gob, not refused.) depth bounds the walk
// through recursive types.
func gobNever(t reflect.Type, depth int) bool {
	for ; t != nil && depth < 16; depth++ {
		switch t.Kind() {
		case reflect.Func, reflect.Chan, reflect.UnsafePointer:
			return true
		case reflect.Map:
			if gobNever(t.Key(), depth+1) {
				return true
			}
			t = t.Elem()
		case reflect.Pointer, reflect.Slice, reflect.Array:
			t = t.Elem()
		default:
			return false
		}
	}
	return false
}

// Unwrap returns the codec's error, Err.
func (e *EncodeError) Unwrap() error { return e.Err }

// registerGobTypes registers with encoding/gob the types that session
// values commonly hold and that gob does not know by itself (it knows the
// basic types and slices of them): they need no gob.Register by the
// application. Open and New call it once per engine; registering a type
// again under the same name does nothing. A type that the application
// registered under a name of its own keeps that name.
func registerGobTypes() {
	for _, v := range []any{
		map[string]any{},
		[]any{},
		[]map[string]any{},
		map[string]string{},
		map[string]int{},
		map[string]int64{},
		map[string]float64{},
		map[string]bool{},
		map[string][]string{},
		map[int]string{},
		map[int]int{},
		time.Time{},
		time.Duration(0),
		[]time.Time{},
	} {
		registerGob(v)
	}
}

// registerGob registers v's type unless it is registered under another
// name already, which makes gob.Register panic.
func registerGob(v any) {
	defer func() { _ = recover() }()
	gob.Register(v)
}

// Codec turns a session's values into bytes for the store and back. Set
// Config.Codec to use another encoding than encoding/gob (JSON, CBOR,
// msgpack, or gob wrapped in compression or encryption).
//
// What a Codec must promise:
//   - Round trip: Decode(Encode(v)) returns values equal to v, with the
//     same Go types (an int comes back as an int, not a float64): Get[T]
//     and the application's type assertions rely on it. A codec that
//     cannot keep a type must refuse to encode it rather than change it.
//   - Encode fails, with nothing written, for a value it cannot round-trip.
//     Its error should name the key; if it does not (it is not an
//     *EncodeError), the engine finds the key by encoding the values one at
//     a time and returns an *EncodeError wrapping the codec's error.
//   - Encode does not keep or modify values, and Decode's map belongs to
//     the engine; Decode may keep data.
//   - Both are safe for concurrent use: sessions are encoded on their own
//     turns' goroutines.
//   - Decode fails for data it cannot read; the engine then moves the
//     record aside as corrupt (logged) and treats the session as not
//     found.
//
// The codec sees only its own bytes: the engine stores the session's owner
// and own limits beside them. Changing the codec of a store that holds
// sessions needs a Decode that reads the old encoding too (try the new one,
// fall back to GobCodec), or those sessions are set aside as corrupt.
type Codec interface {
	Encode(values map[string]any) ([]byte, error)
	Decode(data []byte) (map[string]any, error)
}

// GobCodec is the default [Codec]: encoding/gob, which keeps Go types.
// Custom types must be registered with gob.Register and need exported
// fields (or to implement gob.GobEncoder or encoding.BinaryMarshaler); the
// common types listed in the package documentation are registered
// already. A nil Config.Codec uses it without the interface call.
type GobCodec struct{}

// Encode encodes values; a value that gob cannot encode is reported as an
// *EncodeError naming the first such key in sorted order.
func (GobCodec) Encode(values map[string]any) ([]byte, error) { return encodeValues(nil, values) }

// Decode decodes what Encode wrote.
func (GobCodec) Decode(data []byte) (map[string]any, error) { return decodeValues(data) }

// encodeValues appends the gob encoding of a session's values to dst.
//
// gob stores what a pointer points to: see the package documentation for
// the types pointers come back as.
//
// If a value cannot be encoded, encodeValues returns an *EncodeError for
// the first such key in sorted order.
func encodeValues(dst []byte, values map[string]any) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	if err := gob.NewEncoder(buf).Encode(values); err != nil {
		return nil, findUnencodable(values, err, func(one map[string]any) error {
			return gob.NewEncoder(io.Discard).Encode(one)
		}, false)
	}
	return buf.Bytes(), nil
}

// findUnencodable encodes values one at a time with encode, in the form
// the whole map is encoded, to name the one that failed with err. It runs
// only after a failure.
func findUnencodable(values map[string]any, err error, encode func(map[string]any) error, custom bool) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := values[k]
		if kerr := encode(map[string]any{k: v}); kerr != nil {
			return &EncodeError{Key: k, Type: reflect.TypeOf(v), Err: kerr, custom: custom}
		}
	}
	return fmt.Errorf("encode session values: %w", err)
}

// decodeValues is the inverse of encodeValues.
func decodeValues(data []byte) (map[string]any, error) {
	values := make(map[string]any)
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&values); err != nil {
		return nil, fmt.Errorf("decode session values: %w", err)
	}
	return values, nil
}

// checkChanges checks that the values set in st's journal from mark on
// encode, writing nothing, so that the Do that stored a value the codec
// cannot encode fails with it, whatever the Durability and however late
// the commit. Values of the types gob always encodes cost a type switch;
// others are encoded alone.
func (e *Engine) checkChanges(st *sessionState, mark int) error {
	for _, c := range st.journal[min(mark, len(st.journal)):] {
		if c.meta || c.cleared != nil {
			continue
		}
		v, ok := st.values[c.key]
		if !ok || e.cfg.Codec == nil && gobAlwaysEncodes(v) {
			continue
		}
		one := map[string]any{c.key: v}
		if c := e.cfg.Codec; c != nil {
			if _, err := e.encodeCustom(c, one); err != nil {
				return err
			}
			continue
		}
		if _, err := encodeValues(nil, one); err != nil {
			return err
		}
	}
	return nil
}

// gobAlwaysEncodes reports whether v is of a type that gob encodes in a
// map[string]any without registration: the predeclared types, []byte and
// the time types the engine registers.
func gobAlwaysEncodes(v any) bool {
	switch v.(type) {
	case bool, string, []byte, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, float32, float64,
		complex64, complex128, time.Time, time.Duration:
		return true
	}
	return false
}

// encodeCustom encodes values with the application's codec c, naming the
// key that fails if c's error does not.
func (e *Engine) encodeCustom(c Codec, values map[string]any) ([]byte, error) {
	data, err := c.Encode(values)
	if err != nil {
		if ee, ok := errors.AsType[*EncodeError](err); ok {
			named := *ee
			named.custom = true // the codec's own: no advice about gob
			return nil, &named
		}
		return nil, findUnencodable(values, err, func(one map[string]any) error {
			_, err := c.Encode(one)
			return err
		}, true)
	}
	return data, nil
}
