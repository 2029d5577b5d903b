package policy

import (
	"net"
	"strings"
	"testing"
	"time"
)

const (
	acct     = "111122223333"
	otherAcc = "444455556666"
	aliceARN = "arn:aws:iam::111122223333:user/alice"
	bobARN   = "arn:aws:iam::111122223333:user/bob"
	rootARN  = "arn:aws:iam::111122223333:root"
	repoARN  = "arn:aws:ecr:us-east-1:111122223333:repository/app"
	repoPfx  = "arn:aws:ecr:us-east-1:111122223333:repository/"
)

var testNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

func alice() Principal {
	return Principal{ARN: aliceARN, AccountID: acct, UserName: "alice", UserID: "AIDAALICE"}
}

func root() Principal {
	return Principal{ARN: rootARN, AccountID: acct, IsRoot: true}
}

// baseRequest is alice pushing to repository app over TLS from 10.1.2.3.
func baseRequest() Request {
	return Request{
		Principal:       alice(),
		Action:          "ecr:PutImage",
		Resource:        repoARN,
		Now:             testNow,
		SourceIP:        net.ParseIP("10.1.2.3"),
		SecureTransport: true,
	}
}

// doc wraps statements into a 2012-10-17 document.
func doc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

// st builds a statement from raw JSON fragments; extra are further members
// such as `"Condition":{...}` or `"Principal":"*"`.
func st(effect, action, resource string, extra ...string) string {
	parts := []string{`"Effect":"` + effect + `"`}
	if action != "" {
		parts = append(parts, `"Action":`+action)
	}
	if resource != "" {
		parts = append(parts, `"Resource":`+resource)
	}
	parts = append(parts, extra...)
	return "{" + strings.Join(parts, ",") + "}"
}

func mustIdentity(t testing.TB, d string) *Policy {
	t.Helper()
	p, err := ParseIdentityPolicy(d)
	if err != nil {
		t.Fatalf("ParseIdentityPolicy(%s): %v", d, err)
	}
	return p
}

func mustResource(t testing.TB, d string) *Policy {
	t.Helper()
	p, err := ParseResourcePolicy(d)
	if err != nil {
		t.Fatalf("ParseResourcePolicy(%s): %v", d, err)
	}
	return p
}
