package polyworker

// Signals and queries: a run's buffered signal channels and its query
// handlers.

import (
	"fmt"
	"reflect"
)

// SignalChannel delivers a signal's first argument, in arrival order.
type SignalChannel struct {
	r    *run
	name string
}

// GetSignalChannel is the channel of signal name (signals are buffered).
func GetSignalChannel(ctx Context, name string) SignalChannel { return SignalChannel{ctx.r, name} }

// Receive blocks until a signal arrives and decodes it into valuePtr.
func (c SignalChannel) Receive(ctx Context, valuePtr any) error {
	ctx.co.block(func() bool { return len(c.r.signals[c.name]) > 0 })
	return c.take(valuePtr)
}

// ReceiveAsync takes a buffered signal if there is one.
func (c SignalChannel) ReceiveAsync(valuePtr any) (bool, error) {
	if len(c.r.signals[c.name]) == 0 {
		return false, nil
	}
	return true, c.take(valuePtr)
}

func (c SignalChannel) take(valuePtr any) error {
	p := c.r.signals[c.name][0]
	c.r.signals[c.name] = c.r.signals[c.name][1:]
	if valuePtr == nil {
		return nil
	}
	return decode(p, valuePtr)
}

// SetQueryHandler answers query name with fn, a func(args...) (R, error)
// that must not change state or block.
func SetQueryHandler(ctx Context, name string, fn any) error {
	v := reflect.ValueOf(fn)
	if t := v.Type(); t.Kind() != reflect.Func || t.NumOut() != 2 || t.Out(1) != errorType {
		return fmt.Errorf("query handler %s: want func(args...) (R, error), got %s", name, t)
	}
	ctx.r.queries[name] = v
	return nil
}
