package engine

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"slices"
)

// encodeValues encodes a session's values with encoding/gob, which keeps
// their Go types: an int comes back as an int. Values of custom types must be
// registered with gob.Register, and need exported fields (or to implement
// gob.GobEncoder / encoding.BinaryMarshaler). If a value does not encode,
// the error names its key and type and says what to do.
func encodeValues(values map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(values); err != nil {
		return nil, valueError(values, err)
	}
	return buf.Bytes(), nil
}

// valueError finds the value that made the encoding of values fail.
func valueError(values map[string]any, err error) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := values[k]
		if verr := gob.NewEncoder(io.Discard).Encode(map[string]any{k: v}); verr != nil {
			return fmt.Errorf("value %q of type %T cannot be encoded (register the type with gob.Register; it needs exported fields): %w", k, v, verr)
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
// registered them with gob.Register, as in the program that stored them.
func DecodeValues(data []byte) (map[string]any, error) { return decodeValues(data) }
