// The workflow's input, in either of its two shapes: a packet (with the
// options as a second argument), or the tutorial's
// {"Packet": {...}, "GetRouteMaxAttempts": n, "TransmitPacketMaxAttempts": m},
// answered as {"Packet": {...}}. Anything else is refused, saying what is
// wrong, rather than read as an empty packet.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"wit_component/polyworker"
)

// DataRoutingInput is the tutorial's input record.
type DataRoutingInput struct {
	Packet                    json.RawMessage `json:"Packet"`
	GetRouteMaxAttempts       *int32          `json:"GetRouteMaxAttempts"`
	TransmitPacketMaxAttempts *int            `json:"TransmitPacketMaxAttempts"`
}

// DataRoutingOutput is the tutorial's output record.
type DataRoutingOutput struct {
	Packet Packet `json:"Packet"`
}

// strictPacket tells a missing ID from an empty one.
type strictPacket struct {
	ID                   *string  `json:"ID"`
	Source               string   `json:"Source"`
	Destination          string   `json:"Destination"`
	Contents             string   `json:"Contents"`
	FailedRouteProviders []string `json:"FailedRouteProviders"`
	CurrentRouteProvider string   `json:"CurrentRouteProvider"`
	Status               string   `json:"Status"`
}

func invalid(format string, args ...any) error {
	return polyworker.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), "InvalidInput")
}

// strict decodes data into v, refusing unknown fields; what is wrong, in
// the words the other examples use.
func strict(what string, data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	err := d.Decode(v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		return invalid("%s: invalid type of `%s`, expected %s", what, typeErr.Field, typeErr.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid("%s: unknown field `%s`", what, field)
	default:
		return invalid("%s: %v", what, err)
	}
}

func parsePacket(data []byte) (Packet, error) {
	var p strictPacket
	if err := strict("not a packet", data, &p); err != nil {
		return Packet{}, err
	}
	if p.ID == nil {
		return Packet{}, invalid("not a packet: missing field `ID`")
	}
	if *p.ID == "" {
		return Packet{}, invalid("not a packet: `ID` is empty")
	}
	return Packet{*p.ID, p.Source, p.Destination, p.Contents, p.FailedRouteProviders, p.CurrentRouteProvider, p.Status}, nil
}

// parseInput: the packet, the options (the tutorial's fields override
// them), and whether the tutorial's shape was used.
func parseInput(input json.RawMessage, options *RoutingOptions) (Packet, *RoutingOptions, bool, error) {
	opts := RoutingOptions{}
	if options != nil {
		opts = *options
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(input, &probe) != nil || probe["Packet"] == nil {
		p, err := parsePacket(input)
		return p, &opts, false, err
	}
	var t DataRoutingInput
	if err := strict("not a data-routing input", input, &t); err != nil {
		return Packet{}, nil, true, err
	}
	if t.GetRouteMaxAttempts != nil {
		opts.RouteMaxAttempts = *t.GetRouteMaxAttempts
	}
	if t.TransmitPacketMaxAttempts != nil {
		opts.TransmitMaxAttempts = *t.TransmitPacketMaxAttempts
	}
	p, err := parsePacket(t.Packet)
	return p, &opts, true, err
}
