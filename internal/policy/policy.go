// Package policy implements the IAM policy language: it parses and validates
// policy documents (identity policies attached to users, and resource policies
// such as ECR repository policies) and evaluates requests against them with
// IAM's logic.
//
// Everything that can be prepared ahead is prepared at parse time: wildcards
// become piece lists, condition values are parsed into numbers, times and
// prefixes, condition keys are classified. Evaluation does no regexp work and
// allocates only when a condition reads a formatted built-in key such as
// aws:CurrentTime as a string.
//
// Choices where IAM's behaviour is unspecified or Berth differs:
//   - The account root ignores identity policies but not resource-policy
//     denies (see Evaluate).
//   - An unresolvable policy variable makes a Resource entry match nothing
//     and makes a condition false, whatever its operator.
//   - Numeric and IP condition values that do not parse are accepted and
//     match nothing; unparsable dates are rejected ("The policy failed legacy
//     parsing"), as IAM does.
//   - Service, Federated and CanonicalUser principals are accepted but never
//     match: Berth's callers are IAM users and account roots.
//
// The package is self-contained: no HTTP, no stores.
package policy

import (
	"errors"
	"fmt"
)

// Kind says which side of IAM's evaluation a policy belongs to.
type Kind uint8

const (
	// KindNone is the zero Kind; a Decision uses it when no policy decided.
	KindNone Kind = iota
	// KindIdentity is a policy attached to a user (inline or managed). It
	// must not name a principal and must name resources.
	KindIdentity
	// KindResource is a policy attached to a resource (an ECR repository
	// policy). It must name a principal; Resource is optional and defaults to
	// the resource the policy is attached to.
	KindResource
)

func (k Kind) String() string {
	switch k {
	case KindIdentity:
		return "identity-based"
	case KindResource:
		return "resource-based"
	}
	return "none"
}

// Effect is a statement's Effect.
type Effect uint8

const (
	Allow Effect = iota + 1
	Deny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "Invalid"
}

// Policy versions.
const (
	Version2012 = "2012-10-17"
	// Version2008 is the legacy language: policy variables are not
	// substituted ("${aws:username}" is literal text). It is also what IAM
	// assumes when Version is absent.
	Version2008 = "2008-10-17"
)

// Size limits, in characters. IAM does not count whitespace against its
// quotas; ECR's policyText length constraint counts every character.
const (
	// MaxInlineUserPolicySize is the IAM quota for the inline policies of one
	// user, summed over them (non-whitespace characters).
	MaxInlineUserPolicySize = 2048
	// MaxInlineGroupPolicySize is the IAM quota for a group's inline policies.
	MaxInlineGroupPolicySize = 5120
	// MaxInlineRolePolicySize is the IAM quota for a role's inline policies.
	MaxInlineRolePolicySize = 10240
	// MaxManagedPolicySize is the IAM quota for one managed policy version
	// (non-whitespace characters). ParseIdentityPolicy's default.
	MaxManagedPolicySize = 6144
	// MaxRepositoryPolicySize is ECR's limit for a repository or registry
	// policy's policyText (all characters). ParseResourcePolicy's default.
	MaxRepositoryPolicySize = 10240
	// MaxDocumentBytes bounds the raw document whatever the options say, so
	// whitespace cannot make parsing unbounded. It is the IAM API's maximum
	// length for a PolicyDocument parameter.
	MaxDocumentBytes = 131072
)

// ErrMalformed is matched (errors.Is) by every *MalformedError.
var ErrMalformed = errors.New("malformed policy document")

// ErrTooLarge is matched (errors.Is) by every *SizeError.
var ErrTooLarge = errors.New("policy document too large")

// MalformedError rejects a document. Message is IAM's MalformedPolicyDocument
// wording, suitable for the wire as is.
type MalformedError struct {
	Message string
}

func (e *MalformedError) Error() string { return "MalformedPolicyDocument: " + e.Message }

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// SizeError rejects a document over its size limit. Error() is IAM's
// LimitExceeded wording; ECR words its own constraint message.
type SizeError struct {
	Limit int // characters allowed
	Size  int // characters counted
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("Cannot exceed quota for PolicySize: %d", e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }

// IAM's MalformedPolicyDocument messages.
const (
	msgSyntax            = "Syntax errors in policy."
	msgLegacy            = "The policy failed legacy parsing"
	msgVersion2012       = "Policy document must be version 2012-10-17 or greater."
	msgNoPrincipal       = "Policy document should not specify a principal."
	msgMissingPrincipal  = "Missing required field Principal"
	msgNoActions         = "Policy statement must contain actions."
	msgNoResources       = "Policy statement must contain resources."
	msgVendor            = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgOneColon          = "Actions/Condition can contain only one colon."
	msgSidUnique         = "Statement IDs (SID) in a single policy must be unique."
	msgSidAlnum          = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
	msgResourceQualified = "Resource vendor must be fully qualified and cannot contain regexes."
)

func malformed(msg string) error { return &MalformedError{Message: msg} }

func malformedf(format string, args ...any) error {
	return &MalformedError{Message: fmt.Sprintf(format, args...)}
}

// Policy is a parsed, validated and compiled policy document. It is immutable
// and safe for concurrent use.
type Policy struct {
	kind       Kind
	version    string // as written; "" when absent
	id         string
	hasID      bool
	vars       bool // policy variables are substituted (Version 2012-10-17)
	statements []statement
}

// Kind reports whether p was parsed as an identity or a resource policy.
func (p *Policy) Kind() Kind { return p.kind }

// Version returns the Version element, "" when the document had none.
func (p *Policy) Version() string { return p.version }

// ID returns the Id element.
func (p *Policy) ID() string { return p.id }

// Len returns the number of statements.
func (p *Policy) Len() int { return len(p.statements) }

// statement is one compiled Statement.
type statement struct {
	sid    string
	hasSid bool
	effect Effect

	notAction bool
	actions   []pattern

	hasResource bool // Resource or NotResource present
	notResource bool
	resources   []pattern

	hasPrincipal bool // Principal or NotPrincipal present
	notPrincipal bool
	principal    principalSet

	conditions []condition
}

// principalSet is a compiled Principal or NotPrincipal element.
type principalSet struct {
	any      bool     // the string form "*"
	anyAWS   bool     // {"AWS": "*"}
	accounts []string // account principals: bare ids and :root ARNs
	arns     []string // exact user, role and session ARNs
	// The members as written, for re-serialization.
	rawAWS   []string
	service  []string
	fed      []string
	canonUsr []string
}
