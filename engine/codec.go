package engine

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// encodeValues encodes a session's values with encoding/gob, which keeps
// their Go types: an int comes back as an int. Values of custom types must be
// registered with gob.Register, and need exported fields (or to implement
// gob.GobEncoder / encoding.BinaryMarshaler).
func encodeValues(values map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(values); err != nil {
		return nil, fmt.Errorf("engine: encode session values: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeValues is the inverse of encodeValues.
func decodeValues(data []byte) (map[string]any, error) {
	values := make(map[string]any)
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&values); err != nil {
		return nil, fmt.Errorf("engine: decode session values: %w", err)
	}
	return values, nil
}
