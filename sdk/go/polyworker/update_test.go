package polyworker

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func updateContext() Context { return Context{r: &run{updates: map[string]updateHandler{}}} }

// Handlers and validators of the wrong shape are refused when they are set,
// naming the update.
func TestUpdateHandlerShapes(t *testing.T) {
	ctx := updateContext()
	handler := func(ctx Context, n int) (int, error) { return n, nil }
	cases := []struct {
		name      string
		handler   any
		validator any
		refused   string
	}{
		{"no context", func(n int) (int, error) { return n, nil }, nil, "want func(polyworker.Context"},
		{"no error", func(ctx Context, n int) int { return n }, nil, "want func(polyworker.Context"},
		{"validator arguments", handler, func(s string) error { return nil }, "update validator validator arguments"},
		{"validator result", handler, func(n int) bool { return true }, "want func([polyworker.Context,] [int]) error"},
		{"plain validator", handler, func(n int) error { return nil }, ""},
		{"validator with context", handler, func(ctx Context, n int) error { return nil }, ""},
	}
	for _, c := range cases {
		err := SetUpdateHandlerWithOptions(ctx, c.name, c.handler, UpdateHandlerOptions{Validator: c.validator})
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.refused)
		}
	}
}

// A validator's error, or its panic, is what rejects the update.
func TestValidatorOutcomes(t *testing.T) {
	ctx := updateContext()
	positive := func(n int) error {
		if n <= 0 {
			return errors.New("n must be positive")
		}
		return nil
	}
	if err := SetUpdateHandlerWithOptions(ctx, "bump", func(ctx Context, n int) error { return nil },
		UpdateHandlerOptions{Validator: positive}); err != nil {
		t.Fatal(err)
	}
	h := ctx.r.updates["bump"]
	if err := h.validate(ctx, []reflect.Value{reflect.ValueOf(2)}); err != nil {
		t.Errorf("2 was rejected: %v", err)
	}
	if err := h.validate(ctx, []reflect.Value{reflect.ValueOf(-1)}); err == nil || err.Error() != "n must be positive" {
		t.Errorf("-1: %v", err)
	}
	panicky := updateHandler{validator: reflect.ValueOf(func(n int) error { panic("no") })}
	if err := panicky.validate(ctx, []reflect.Value{reflect.ValueOf(1)}); err == nil || !strings.Contains(err.Error(), "panicked: no") {
		t.Errorf("a panicking validator: %v", err)
	}
}
