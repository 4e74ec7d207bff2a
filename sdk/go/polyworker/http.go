package polyworker

import (
	"fmt"

	hc "wit_component/polyworker_worker_http_client"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// HTTPResponse is a whole response.
type HTTPResponse struct {
	Status  uint16
	Headers [][2]string
	Body    []byte
}

// HTTPPost sends a request through `polyworker:worker/http-client`: what it
// may reach is the task queue's http_allowlist; workflows are refused.
func HTTPPost(url, contentType string, body []byte) (*HTTPResponse, error) {
	res := hc.Send(hc.HttpRequest{
		Method:  "POST",
		Url:     url,
		Headers: []witTypes.Tuple2[string, string]{{F0: "content-type", F1: contentType}},
		Body:    body,
		Timeout: witTypes.None[uint64](),
	})
	if res.IsErr() {
		e := res.Err()
		switch e.Tag() {
		case hc.HttpErrorDenied:
			return nil, fmt.Errorf("denied: %s", e.Denied())
		case hc.HttpErrorInvalidRequest:
			return nil, fmt.Errorf("invalid request: %s", e.InvalidRequest())
		case hc.HttpErrorTransport:
			return nil, fmt.Errorf("transport: %s", e.Transport())
		default:
			return nil, fmt.Errorf("timeout")
		}
	}
	r := res.Ok()
	out := &HTTPResponse{Status: r.Status, Body: r.Body}
	for _, h := range r.Headers {
		out.Headers = append(out.Headers, [2]string{h.F0, h.F1})
	}
	return out, nil
}
