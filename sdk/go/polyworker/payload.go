package polyworker

import (
	"encoding/json"
	"fmt"
	"reflect"

	"wit_component/polyworker_worker_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Payloads are the WIT `payload` record with the JSON converter every
// Temporal SDK uses by default; nil travels as `binary/null`.
type payload = polyworker_worker_types.Payload

func encoding(e string) []witTypes.Tuple2[string, []uint8] {
	return []witTypes.Tuple2[string, []uint8]{{F0: "encoding", F1: []uint8(e)}}
}

func toPayload(v any) (payload, error) {
	if v == nil {
		return payload{Metadata: encoding("binary/null"), Data: []uint8{}}, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return payload{}, fmt.Errorf("cannot encode %T as JSON: %w", v, err)
	}
	return payload{Metadata: encoding("json/plain"), Data: data}, nil
}

func toPayloads(values []any) ([]payload, error) {
	out := make([]payload, 0, len(values))
	for _, v := range values {
		p, err := toPayload(v)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func encodingOf(p payload) string {
	for _, m := range p.Metadata {
		if m.F0 == "encoding" {
			return string(m.F1)
		}
	}
	return ""
}

// decode sets *target (a pointer) from the payload.
func decode(p payload, target any) error {
	switch e := encodingOf(p); e {
	case "binary/null":
		return nil
	case "json/plain":
		return json.Unmarshal(p.Data, target)
	default:
		return fmt.Errorf("cannot decode a payload with encoding %q", e)
	}
}

// decodeArgs decodes payloads into values of the given types; missing
// arguments are zero values.
func decodeArgs(ps []payload, types []reflect.Type) ([]reflect.Value, error) {
	out := make([]reflect.Value, len(types))
	for i, t := range types {
		v := reflect.New(t)
		if i < len(ps) {
			if err := decode(ps[i], v.Interface()); err != nil {
				return nil, fmt.Errorf("argument %d: %w", i, err)
			}
		}
		out[i] = v.Elem()
	}
	return out, nil
}
