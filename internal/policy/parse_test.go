package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	const (
		syntax = msgSyntax
		legacy = msgLegacy
	)
	allow := st("Allow", `"ecr:*"`, anyRes)
	tests := []struct {
		name     string
		resource bool // parse as a resource policy
		doc      string
		want     string
	}{
		{name: "empty", doc: ``, want: syntax},
		{name: "not JSON", doc: `policy`, want: syntax},
		{name: "array", doc: `[]`, want: syntax},
		{name: "string", doc: `"x"`, want: syntax},
		{name: "null", doc: `null`, want: syntax},
		{name: "trailing data", doc: doc(allow) + ` {}`, want: syntax},
		{name: "truncated", doc: doc(allow)[:30], want: syntax},
		{name: "no Statement", doc: `{"Version":"2012-10-17"}`, want: syntax},
		{name: "empty Statement", doc: `{"Version":"2012-10-17","Statement":[]}`, want: syntax},
		{name: "Statement string", doc: `{"Version":"2012-10-17","Statement":"x"}`, want: syntax},
		{name: "Statement item not object", doc: `{"Version":"2012-10-17","Statement":["x"]}`, want: syntax},
		{name: "unknown top element", doc: `{"Version":"2012-10-17","Foo":1,"Statement":[` + allow + `]}`, want: syntax},
		{name: "top element case", doc: `{"version":"2012-10-17","Statement":[` + allow + `]}`, want: syntax},
		{name: "bad Version", doc: `{"Version":"2013-01-01","Statement":[` + allow + `]}`, want: syntax},
		{name: "Version number", doc: `{"Version":2012,"Statement":[` + allow + `]}`, want: syntax},
		{name: "Id number", doc: `{"Version":"2012-10-17","Id":1,"Statement":[` + allow + `]}`, want: syntax},
		{name: "unknown statement element", doc: doc(`{"Effect":"Allow","Actions":"ecr:*","Resource":"*"}`), want: syntax},
		{name: "statement element case", doc: doc(`{"effect":"Allow","Action":"ecr:*","Resource":"*"}`), want: syntax},
		{name: "Effect missing", doc: doc(`{"Action":"ecr:*","Resource":"*"}`), want: syntax},
		{name: "Effect invalid", doc: doc(st("Maybe", `"ecr:*"`, anyRes)), want: syntax},
		{name: "Effect not string", doc: doc(`{"Effect":true,"Action":"ecr:*","Resource":"*"}`), want: syntax},
		{name: "Effect lower case", doc: doc(st("allow", `"ecr:*"`, anyRes)), want: legacy},
		{name: "Action and NotAction", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"NotAction":"s3:*"`)), want: syntax},
		{name: "Resource and NotResource", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"NotResource":"*"`)), want: syntax},
		{name: "Principal and NotPrincipal", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":"*"`, `"NotPrincipal":"*"`)), want: syntax},
		{name: "Action number", doc: doc(st("Allow", `5`, anyRes)), want: syntax},
		{name: "Action list with number", doc: doc(st("Allow", `["ecr:*",5]`, anyRes)), want: syntax},
		{name: "Action list with null", doc: doc(st("Allow", `["ecr:*",null]`, anyRes)), want: syntax},
		{name: "Action object", doc: doc(st("Allow", `{"a":"b"}`, anyRes)), want: syntax},
		{name: "Resource number", doc: doc(st("Allow", `"ecr:*"`, `1`)), want: syntax},
		{name: "Sid number", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Sid":1`)), want: syntax},
		{name: "no Action", doc: doc(st("Allow", "", anyRes)), want: msgNoActions},
		{name: "empty Action", doc: doc(st("Allow", `[]`, anyRes)), want: msgNoActions},
		{name: "empty NotAction", doc: doc(st("Allow", "", anyRes, `"NotAction":[]`)), want: msgNoActions},
		{name: "Action without vendor", doc: doc(st("Allow", `"PutImage"`, anyRes)), want: msgVendor},
		{name: "Action empty string", doc: doc(st("Allow", `""`, anyRes)), want: msgVendor},
		{name: "Action two colons", doc: doc(st("Allow", `"ecr:Put:Image"`, anyRes)), want: msgOneColon},
		{name: "Action bad vendor", doc: doc(st("Allow", `"ec r:PutImage"`, anyRes)), want: "Vendor ec r is not valid"},
		{name: "NotAction without vendor", doc: doc(st("Allow", "", anyRes, `"NotAction":"x"`)), want: msgVendor},
		{name: "identity no Resource", doc: doc(st("Allow", `"ecr:*"`, "")), want: msgNoResources},
		{name: "identity empty Resource", doc: doc(st("Allow", `"ecr:*"`, `[]`)), want: msgNoResources},
		{name: "Resource not ARN", doc: doc(st("Allow", `"ecr:*"`, `"repo"`)), want: `Resource repo must be in ARN format or "*".`},
		{name: "Resource bad prefix", doc: doc(st("Allow", `"ecr:*"`, `"urn:aws:ecr:::x"`)), want: `Resource urn:aws:ecr:::x must be in ARN format or "*".`},
		{name: "Resource bad partition", doc: doc(st("Allow", `"ecr:*"`, `"arn:foo:ecr:us-east-1:111122223333:repository/x"`)), want: `Partition "foo" is not valid for resource "arn:foo:ecr:us-east-1:111122223333:repository/x".`},
		{name: "Resource without vendor", doc: doc(st("Allow", `"ecr:*"`, `"arn:aws"`)), want: msgResourceQualified},
		{name: "Resource legacy shape", doc: doc(st("Allow", `"ecr:*"`, `"arn:aws:s3::x"`)), want: legacy},
		{name: "identity with Principal", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Principal":"*"`)), want: msgNoPrincipal},
		{name: "identity with NotPrincipal", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"NotPrincipal":{"AWS":"111122223333"}`)), want: msgNoPrincipal},
		{name: "resource without Principal", resource: true, doc: doc(st("Allow", `"ecr:*"`, "")), want: msgMissingPrincipal},
		{name: "resource empty Resource", resource: true, doc: doc(st("Allow", `"ecr:*"`, `[]`, `"Principal":"*"`)), want: msgNoResources},
		{name: "Principal string", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":"bob"`)), want: syntax},
		{name: "Principal empty object", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":{}`)), want: syntax},
		{name: "Principal unknown type", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":{"Foo":"x"}`)), want: syntax},
		{name: "Principal number", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":{"AWS":1}`)), want: syntax},
		{name: "Principal empty list", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":{"AWS":[]}`)), want: syntax},
		{name: "Principal AWS not ARN", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":{"AWS":"bob"}`)), want: `Invalid principal in policy: "AWS":"bob"`},
		{name: "Principal AWS wildcard ARN", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":{"AWS":"arn:aws:iam::111122223333:user/*"}`)), want: `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/*"`},
		{name: "Principal AWS short account", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":{"AWS":"12345"}`)), want: `Invalid principal in policy: "AWS":"12345"`},
		{name: "Principal AWS ECR ARN", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":{"AWS":"`+repoARN+`"}`)), want: `Invalid principal in policy: "AWS":"` + repoARN + `"`},
		{name: "Principal AWS group", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":{"AWS":"arn:aws:iam::111122223333:group/devs"}`)), want: `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:group/devs"`},
		{name: "Condition not object", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":"x"`)), want: syntax},
		{name: "Condition block not object", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"StringEquals":"x"}`)), want: syntax},
		{name: "Condition unknown operator", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"StringEqualz":{"aws:username":"a"}}`)), want: syntax},
		{name: "Condition operator case", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"stringequals":{"aws:username":"a"}}`)), want: syntax},
		{name: "Condition NullIfExists", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"NullIfExists":{"aws:username":"true"}}`)), want: syntax},
		{name: "Condition ForAnyValue Null", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"ForAnyValue:Null":{"aws:username":"true"}}`)), want: syntax},
		{name: "Condition unknown qualifier", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"ForSomeValues:StringEquals":{"aws:username":"a"}}`)), want: syntax},
		{name: "Condition value object", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"StringEquals":{"aws:username":{"a":"b"}}}`)), want: syntax},
		{name: "Condition value null", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"StringEquals":{"aws:username":null}}`)), want: syntax},
		{name: "Condition value nested list", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"StringEquals":{"aws:username":[["a"]]}}`)), want: syntax},
		{name: "Condition key without vendor", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"StringEquals":{"username":"a"}}`)), want: msgVendor},
		{name: "Condition bad date", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}`)), want: legacy},
		{name: "Condition bad date in list", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"DateLessThanIfExists":{"aws:CurrentTime":["2020-01-01","13/13/2020"]}}`)), want: legacy},
		{name: "duplicate Sid", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Sid":"A"`), st("Deny", `"ecr:*"`, anyRes, `"Sid":"A"`)), want: msgSidUnique},
		{name: "identity Sid with space", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Sid":"a b"`)), want: msgSidAlnum},
		{name: "legacy before actions", doc: doc(st("deny", "", anyRes)), want: legacy},
		{name: "actions before resources", doc: doc(st("Allow", "", "")), want: msgNoActions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parse := ParseIdentityPolicy
			if tc.resource {
				parse = ParseResourcePolicy
			}
			p, err := parse(tc.doc)
			if err == nil {
				t.Fatalf("parsed %s as %v, want error %q", tc.doc, p, tc.want)
			}
			var me *MalformedError
			if !errors.As(err, &me) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v (%T) is not a MalformedError", err, err)
			}
			if me.Message != tc.want {
				t.Fatalf("message = %q, want %q", me.Message, tc.want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name     string
		resource bool
		doc      string
		stmts    int
	}{
		{name: "statement object", doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}`, stmts: 1},
		{name: "no Version", doc: `{"Statement":[{"Effect":"Deny","Action":["ecr:*"],"Resource":["*"]}]}`, stmts: 1},
		{name: "2008 Version", doc: `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}`, stmts: 1},
		{name: "Id and Sids", doc: `{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"A","Effect":"Allow","Action":"ecr:*","Resource":"*"},{"Sid":"B","Effect":"Deny","Action":"ecr:Delete*","Resource":"*"}]}`, stmts: 2},
		{name: "empty Sids may repeat", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Sid":""`), st("Allow", `"ecr:*"`, anyRes, `"Sid":""`)), stmts: 2},
		{name: "star action", doc: doc(st("Allow", `"*"`, anyRes)), stmts: 1},
		{name: "star vendor", doc: doc(st("Allow", `"*:Get*"`, anyRes)), stmts: 1},
		{name: "vendor with dash and dot", doc: doc(st("Allow", `"ecr-public.x:Get"`, anyRes)), stmts: 1},
		{name: "wildcard partition", doc: doc(st("Allow", `"ecr:*"`, `"arn:*:ecr:*:*:repository/*"`)), stmts: 1},
		{name: "other partitions", doc: doc(st("Allow", `"ecr:*"`, `["arn:aws-cn:ecr:*:*:*","arn:aws-us-gov:ecr:*:*:*"]`)), stmts: 1},
		{name: "condition scalar types", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"NumericLessThan":{"berth:n":5},"Bool":{"aws:SecureTransport":true},"StringEquals":{"aws:username":["a","b"]}}`)), stmts: 1},
		{name: "condition tag key with colons", doc: doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":{"StringEquals":{"aws:ResourceTag/aws:cloudformation:stack-name":"x"}}`)), stmts: 1},
		{name: "resource policy typical", resource: true, doc: `{"Version":"2008-10-17","Statement":[{"Sid":"allow pull","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","444455556666"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`, stmts: 1},
		{name: "resource policy principal forms", resource: true, doc: doc(st("Allow", `"ecr:*"`, "", `"Principal":{"AWS":["*","arn:aws:iam::111122223333:user/path/alice","arn:aws:iam::111122223333:role/r","arn:aws:sts::111122223333:assumed-role/r/s"],"Service":"codebuild.amazonaws.com"}`)), stmts: 1},
		{name: "resource policy with Resource", resource: true, doc: doc(st("Allow", `"ecr:*"`, `"`+repoARN+`"`, `"Principal":"*"`)), stmts: 1},
		{name: "resource policy NotPrincipal", resource: true, doc: doc(st("Deny", `"ecr:*"`, "", `"NotPrincipal":{"AWS":"111122223333"}`)), stmts: 1},
		{name: "whitespace everywhere", doc: "\n {\t\"Version\" : \"2012-10-17\" ,\n \"Statement\" : { \"Effect\":\"Allow\", \"Action\":\"ecr:*\", \"Resource\":\"*\" } }\n", stmts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parse, kind := ParseIdentityPolicy, KindIdentity
			if tc.resource {
				parse, kind = ParseResourcePolicy, KindResource
			}
			p, err := parse(tc.doc)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if p.Len() != tc.stmts || p.Kind() != kind {
				t.Fatalf("Len = %d, Kind = %v; want %d, %v", p.Len(), p.Kind(), tc.stmts, kind)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	// A statement list padded to a given number of non-whitespace characters.
	padded := func(n int) string {
		d := doc(st("Allow", `"ecr:*"`, anyRes, `"Sid":"S"`))
		return strings.Replace(d, `"S"`, `"`+strings.Repeat("S", n-len(d)+1)+`"`, 1)
	}
	atLimit := padded(MaxManagedPolicySize)
	if len(atLimit) != MaxManagedPolicySize {
		t.Fatalf("test setup: len = %d", len(atLimit))
	}
	spaced := strings.ReplaceAll(atLimit, ",", " ,  ")
	tests := []struct {
		name     string
		doc      string
		resource bool
		opts     []Option
		wantErr  bool
	}{
		{name: "identity at limit", doc: atLimit},
		{name: "identity over limit", doc: padded(MaxManagedPolicySize + 1), wantErr: true},
		{name: "identity whitespace not counted", doc: spaced},
		{name: "inline user limit", doc: padded(MaxInlineUserPolicySize + 1), opts: []Option{WithSizeLimit(MaxInlineUserPolicySize, false)}, wantErr: true},
		{name: "inline user at limit", doc: padded(MaxInlineUserPolicySize), opts: []Option{WithSizeLimit(MaxInlineUserPolicySize, false)}},
		{name: "no limit", doc: padded(MaxManagedPolicySize * 2), opts: []Option{WithSizeLimit(0, false)}},
		{name: "raw bound regardless", doc: padded(MaxDocumentBytes + 1), opts: []Option{WithSizeLimit(0, false)}, wantErr: true},
		{name: "resource whitespace counted", resource: true, doc: strings.Replace(doc(st("Allow", `"ecr:*"`, "", `"Principal":"*"`)), "{", "{"+strings.Repeat(" ", MaxRepositoryPolicySize), 1), wantErr: true},
		{name: "resource under limit", resource: true, doc: strings.Replace(doc(st("Allow", `"ecr:*"`, "", `"Principal":"*"`)), "{", "{"+strings.Repeat(" ", MaxRepositoryPolicySize-100), 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.resource {
				_, err = ParseResourcePolicy(tc.doc, tc.opts...)
			} else {
				_, err = ParseIdentityPolicy(tc.doc, tc.opts...)
			}
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				return
			}
			var se *SizeError
			if !errors.As(err, &se) || !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error = %v, want a SizeError", err)
			}
		})
	}
	_, err := ParseIdentityPolicy(padded(MaxManagedPolicySize + 1))
	if want := "Cannot exceed quota for PolicySize: 6144"; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestParseRequireVersion2012(t *testing.T) {
	body := `"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}`
	for _, tc := range []struct {
		doc     string
		wantErr bool
	}{
		{`{` + body + `}`, true},
		{`{"Version":"2008-10-17",` + body + `}`, true},
		{`{"Version":"2012-10-17",` + body + `}`, false},
	} {
		_, err := ParseIdentityPolicy(tc.doc, RequireVersion2012())
		if tc.wantErr {
			var me *MalformedError
			if !errors.As(err, &me) || me.Message != msgVersion2012 {
				t.Errorf("%s: error = %v, want %q", tc.doc, err, msgVersion2012)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tc.doc, err)
		}
	}
}

func TestManagedPoliciesParse(t *testing.T) {
	for name, d := range ManagedPolicies {
		p, err := ParseIdentityPolicy(d, RequireVersion2012())
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if p.Version() != Version2012 {
			t.Errorf("%s: version %q", name, p.Version())
		}
	}
	if got := ManagedPolicyARN("AmazonEC2ContainerRegistryReadOnly"); got != "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly" {
		t.Errorf("ManagedPolicyARN = %q", got)
	}
}

// TestMarshalRoundTrip checks that the canonical form parses back to the same
// canonical form.
func TestMarshalRoundTrip(t *testing.T) {
	docs := []struct {
		resource bool
		doc      string
	}{
		{false, AmazonEC2ContainerRegistryFullAccess},
		{false, `{"Id":"x","Statement":{"Sid":"A","Effect":"Deny","NotAction":"ecr:Get*","NotResource":"arn:aws:ecr:*:*:repository/${aws:username}","Condition":{"NumericLessThan":{"berth:n":5},"Bool":{"aws:SecureTransport":false}}}}`},
		{true, `{"Version":"2008-10-17","Statement":[{"Sid":"pull it","Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/a"],"Service":"x.amazonaws.com"},"Action":"ecr:BatchGetImage"},{"Effect":"Deny","NotPrincipal":"*","Action":"*","Resource":"*"}]}`},
	}
	for _, tc := range docs {
		parse := ParseIdentityPolicy
		if tc.resource {
			parse = ParseResourcePolicy
		}
		p, err := parse(tc.doc)
		if err != nil {
			t.Fatalf("parse %s: %v", tc.doc, err)
		}
		first := p.String()
		p2, err := parse(first)
		if err != nil {
			t.Fatalf("reparse %s: %v", first, err)
		}
		if second := p2.String(); second != first {
			t.Fatalf("round trip differs:\n%s\n%s", first, second)
		}
	}
	p := mustIdentity(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}`)
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:*"],"Resource":["*"]}]}`
	if got := p.String(); got != want {
		t.Fatalf("String = %s, want %s", got, want)
	}
}
