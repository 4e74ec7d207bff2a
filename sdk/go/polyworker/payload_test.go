package polyworker

import (
	"reflect"
	"strings"
	"testing"
)

type order struct {
	ID    string
	Items []int
}

func TestPayloadsRoundTripAsJSON(t *testing.T) {
	p, err := toPayload(order{ID: "o1", Items: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if got := encodingOf(p); got != "json/plain" {
		t.Fatalf("encoding %q, want json/plain", got)
	}
	if string(p.Data) != `{"ID":"o1","Items":[1,2]}` {
		t.Fatalf("data %s", p.Data)
	}
	var back order
	if err := decode(p, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, order{ID: "o1", Items: []int{1, 2}}) {
		t.Fatalf("decoded %+v", back)
	}
}

func TestNilIsBinaryNull(t *testing.T) {
	p, err := toPayload(nil)
	if err != nil {
		t.Fatal(err)
	}
	if encodingOf(p) != "binary/null" || len(p.Data) != 0 {
		t.Fatalf("nil became %q %v", encodingOf(p), p.Data)
	}
	s := "kept"
	if err := decode(p, &s); err != nil || s != "kept" {
		t.Fatalf("decoding null changed the target: %q, %v", s, err)
	}
}

func TestUnknownEncodingsAndUnencodableValuesAreErrors(t *testing.T) {
	p := payload{Metadata: encoding("binary/protobuf"), Data: []uint8{1}}
	var v any
	if err := decode(p, &v); err == nil || !strings.Contains(err.Error(), "binary/protobuf") {
		t.Fatalf("decode = %v, want an error naming the encoding", err)
	}
	if _, err := toPayload(make(chan int)); err == nil {
		t.Fatal("a channel was encoded")
	}
}

func TestMissingArgumentsAreZeroValues(t *testing.T) {
	one, _ := toPayload("x")
	args, err := decodeArgs([]payload{one}, []reflect.Type{reflect.TypeOf(""), reflect.TypeOf(0)})
	if err != nil {
		t.Fatal(err)
	}
	if args[0].String() != "x" || args[1].Int() != 0 {
		t.Fatalf("args %v %v", args[0], args[1])
	}
	bad := payload{Metadata: encoding("json/plain"), Data: []uint8("{")}
	if _, err := decodeArgs([]payload{bad}, []reflect.Type{reflect.TypeOf(0)}); err == nil ||
		!strings.Contains(err.Error(), "argument 0") {
		t.Fatalf("err = %v, want one naming the argument", err)
	}
}
