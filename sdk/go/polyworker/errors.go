package polyworker

import (
	"errors"
	"time"

	"wit_component/polyworker_worker_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// ApplicationError is raised on purpose by workflow or activity code. From a
// workflow it fails the workflow; from an activity it fails the attempt
// (retried unless NonRetryable or its type is listed as non-retryable).
type ApplicationError struct {
	Message        string
	Type           string
	NonRetryable   bool
	Details        []any
	NextRetryDelay time.Duration
	cause          error
}

func (e *ApplicationError) Error() string { return e.Message }
func (e *ApplicationError) Unwrap() error { return e.cause }

// NewApplicationError is a retryable application error of type errType.
func NewApplicationError(message, errType string, details ...any) *ApplicationError {
	return &ApplicationError{Message: message, Type: errType, Details: details}
}

// NewNonRetryableApplicationError is never retried.
func NewNonRetryableApplicationError(message, errType string, details ...any) *ApplicationError {
	return &ApplicationError{Message: message, Type: errType, NonRetryable: true, Details: details}
}

// CanceledError: the operation (workflow, activity, timer) was cancelled.
type CanceledError struct{ Message string }

func (e *CanceledError) Error() string { return e.Message }

// ActivityError: an activity failed; errors.As finds the cause (an
// *ApplicationError, a *TimeoutError, ...).
type ActivityError struct {
	Message      string
	ActivityType string
	cause        error
}

func (e *ActivityError) Error() string { return e.Message }
func (e *ActivityError) Unwrap() error { return e.cause }

// TimeoutError: an activity timed out.
type TimeoutError struct{ Message string }

func (e *TimeoutError) Error() string { return e.Message }

// ServerError: any other failure the server reported.
type ServerError struct {
	Message string
	cause   error
}

func (e *ServerError) Error() string { return e.Message }
func (e *ServerError) Unwrap() error { return e.cause }

type failure = polyworker_worker_types.Failure

func link(message string, kind polyworker_worker_types.FailureKind, cause error) error {
	switch kind.Tag() {
	case polyworker_worker_types.FailureKindApplication:
		a := kind.Application()
		return &ApplicationError{Message: message, Type: a.Type, NonRetryable: a.NonRetryable, cause: cause}
	case polyworker_worker_types.FailureKindCancelled:
		return &CanceledError{Message: message}
	case polyworker_worker_types.FailureKindTimeout:
		return &TimeoutError{Message: message}
	case polyworker_worker_types.FailureKindActivity:
		return &ActivityError{Message: message, ActivityType: kind.Activity().ActivityType, cause: cause}
	default:
		return &ServerError{Message: message, cause: cause}
	}
}

func fromFailure(f failure) error {
	var cause error
	for i := len(f.Causes) - 1; i >= 0; i-- {
		cause = link(f.Causes[i].Message, f.Causes[i].Kind, cause)
	}
	return link(f.Message, f.Kind, cause)
}

func applicationInfo(err error) polyworker_worker_types.ApplicationFailure {
	var app *ApplicationError
	if errors.As(err, &app) && app == err {
		details, _ := toPayloads(app.Details)
		delay := witTypes.None[uint64]()
		if app.NextRetryDelay > 0 {
			delay = witTypes.Some(uint64(app.NextRetryDelay.Nanoseconds()))
		}
		return polyworker_worker_types.ApplicationFailure{Type: app.Type, NonRetryable: app.NonRetryable, Details: details, NextRetryDelay: delay}
	}
	return polyworker_worker_types.ApplicationFailure{Type: "GoError", Details: []payload{}, NextRetryDelay: witTypes.None[uint64]()}
}

func kindOf(err error) polyworker_worker_types.FailureKind {
	var c *CanceledError
	if errors.As(err, &c) && c == err {
		return polyworker_worker_types.MakeFailureKindCancelled([]payload{})
	}
	return polyworker_worker_types.MakeFailureKindApplication(applicationInfo(err))
}

func toFailure(err error) failure {
	causes := []polyworker_worker_types.FailureCause{}
	for c := errors.Unwrap(err); c != nil && len(causes) < 16; c = errors.Unwrap(c) {
		causes = append(causes, polyworker_worker_types.FailureCause{Message: c.Error(), Kind: kindOf(c)})
	}
	return failure{Message: err.Error(), Kind: kindOf(err), Causes: causes}
}
