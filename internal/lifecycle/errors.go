package lifecycle

import "fmt"

// Wire exception names a policy error maps to. The ECR adapter uses Code
// directly as the __type of its error response.
const (
	// CodeInvalidParameter is what ECR answers for a policy text that is not a
	// valid lifecycle policy.
	CodeInvalidParameter = "InvalidParameterException"
	// CodeValidation is what ECR's request model answers for a policy text
	// whose length is out of range, before the policy is looked at.
	CodeValidation = "ValidationException"
)

// invalidPrefix and invalidSuffix wrap every policy validation failure the way
// ECR does (moto/ecr/policy_validation.py records the same wording).
const (
	invalidPrefix = "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: " +
		"'Lifecycle policy validation failure: "
	invalidSuffix = "'"
)

// Error is a policy that fails to parse or validate. Message is the complete
// text ECR sends on the wire; Reason is the part that explains the failure.
type Error struct {
	Code    string
	Reason  string
	Message string
}

func (e *Error) Error() string { return e.Message }

// invalidf builds the InvalidParameterException ECR returns for a policy that
// fails validation.
func invalidf(format string, args ...any) *Error {
	reason := fmt.Sprintf(format, args...)
	return &Error{
		Code:    CodeInvalidParameter,
		Reason:  reason,
		Message: invalidPrefix + reason + invalidSuffix,
	}
}

// lengthError builds the ValidationException the request model answers for a
// policy text of the wrong length.
func lengthError(constraint string) *Error {
	return &Error{
		Code:    CodeValidation,
		Reason:  constraint,
		Message: "1 validation error detected: Value at 'lifecyclePolicyText' failed to satisfy constraint: " + constraint,
	}
}
