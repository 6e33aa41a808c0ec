package engine

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"reflect"
	"slices"
	"time"
)

// EncodeError is returned, wrapped, by the Do (or Turn.End) whose commit
// found a session value that encoding/gob cannot encode; nothing was
// written and the turn's changes were rolled back. Match it with
// errors.As. The usual remedy is gob.Register of the value's type, and of
// the types it holds in interface fields, before the engine loads
// sessions; a struct also needs exported fields (or its own GobEncoder).
type EncodeError struct {
	Key  string       // the first key, in sorted order, whose value fails
	Type reflect.Type // the value's type (nil for a nil interface)
	Err  error        // encoding/gob's error
}

func (e *EncodeError) Error() string {
	return fmt.Sprintf("value %q of type %v cannot be encoded: %v (register its type, and the types it holds in interfaces, with gob.Register; a struct needs exported fields)",
		e.Key, e.Type, e.Err)
}

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

// encodeValues encodes a session's values with encoding/gob, which keeps
// their Go types: an int comes back as an int. Custom types must be
// registered with gob.Register and need exported fields (or to implement
// gob.GobEncoder or encoding.BinaryMarshaler).
//
// gob stores what a pointer points to: see the package documentation for
// the types pointers come back as.
//
// If a value cannot be encoded, encodeValues returns an *EncodeError for
// the first such key in sorted order.
func encodeValues(values map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(values); err != nil {
		return nil, findUnencodable(values, err)
	}
	return buf.Bytes(), nil
}

// findUnencodable encodes values one at a time, in the form encodeValues
// writes them, to name the one that failed with err. It runs only after a
// failure.
func findUnencodable(values map[string]any, err error) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := values[k]
		if kerr := gob.NewEncoder(io.Discard).Encode(map[string]any{k: v}); kerr != nil {
			return &EncodeError{Key: k, Type: reflect.TypeOf(v), Err: kerr}
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

// DecodeValues decodes the Data of a stored record (persist.Record.Data)
// into a session's values, as the engine does when it activates a session.
// It is for tools that read stored sessions without their IDs, such as
// cmd/lockstep's show. Values of custom types decode only in a program that
// registered them with gob.Register, as in the program that stored them;
// the common types that the engine registers itself (maps, []any,
// time.Time, ...) are registered by DecodeValues too.
func DecodeValues(data []byte) (map[string]any, error) {
	registerGobTypes()
	return decodeValues(data)
}
