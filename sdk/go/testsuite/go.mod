// polyworker's test suite for Go workflows, as Temporal's Go SDK has
// go.temporal.io/sdk/testsuite. A module of its own, standard library only:
// it runs natively (not in the component) and drives polyworker-test.
module polyworker/testsuite

go 1.25
