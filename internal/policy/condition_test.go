package policy

import (
	"net"
	"testing"
)

// TestConditions evaluates one Allow statement carrying a Condition and
// checks whether it applied.
func TestConditions(t *testing.T) {
	noIP := func(r *Request) { r.SourceIP = nil }
	ip := func(s string) func(*Request) { return func(r *Request) { r.SourceIP = net.ParseIP(s) } }
	insecure := func(r *Request) { r.SecureTransport = false }
	tags := ctx("aws:TagKeys", "env", "aws:TagKeys", "team")
	count := func(n string) func(*Request) { return ctx("berth:count", n) }
	tests := []struct {
		name string
		cond string
		mod  func(*Request)
		want bool
	}{
		// String operators.
		{"StringEquals match", `{"StringEquals":{"aws:username":"alice"}}`, nil, true},
		{"StringEquals case-sensitive value", `{"StringEquals":{"aws:username":"Alice"}}`, nil, false},
		{"StringEquals values are ORed", `{"StringEquals":{"aws:username":["bob","alice"]}}`, nil, true},
		{"StringEquals none of the values", `{"StringEquals":{"aws:username":["bob","carol"]}}`, nil, false},
		{"StringEquals missing key", `{"StringEquals":{"aws:RequestTag/env":"prod"}}`, nil, false},
		{"StringEquals no wildcards", `{"StringEquals":{"aws:username":"al*"}}`, nil, false},
		{"StringEquals empty value list", `{"StringEquals":{"aws:username":[]}}`, nil, false},
		{"StringEquals key case-insensitive", `{"StringEquals":{"AWS:USERNAME":"alice"}}`, nil, true},
		{"StringEquals context key case-insensitive", `{"StringEquals":{"aws:requesttag/env":"prod"}}`, ctx("AWS:RequestTag/Env", "prod"), true},
		{"StringEquals context key exact", `{"StringEquals":{"aws:RequestTag/env":"prod"}}`, ctx("aws:RequestTag/env", "prod"), true},
		{"StringEquals context lower-case key", `{"StringEquals":{"aws:RequestTag/Env":"prod"}}`, ctx("aws:requesttag/env", "prod"), true},
		{"StringEquals empty context values are absent", `{"StringEquals":{"aws:RequestTag/env":""}}`, func(r *Request) { r.Context = map[string][]string{"aws:RequestTag/env": {}} }, false},
		{"StringEquals multi-valued key any", `{"StringEquals":{"aws:TagKeys":"team"}}`, tags, true},
		{"StringNotEquals differs", `{"StringNotEquals":{"aws:username":"bob"}}`, nil, true},
		{"StringNotEquals equal", `{"StringNotEquals":{"aws:username":"alice"}}`, nil, false},
		{"StringNotEquals one of values equal", `{"StringNotEquals":{"aws:username":["bob","alice"]}}`, nil, false},
		{"StringNotEquals missing key", `{"StringNotEquals":{"aws:RequestTag/env":"prod"}}`, nil, true},
		{"StringNotEquals multi-valued key one equal", `{"StringNotEquals":{"aws:TagKeys":"team"}}`, tags, false},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}`, nil, true},
		{"StringEqualsIgnoreCase differs", `{"StringEqualsIgnoreCase":{"aws:username":"ALICIA"}}`, nil, false},
		{"StringNotEqualsIgnoreCase equal", `{"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}}`, nil, false},
		{"StringNotEqualsIgnoreCase differs", `{"StringNotEqualsIgnoreCase":{"aws:username":"bob"}}`, nil, true},
		{"StringNotEqualsIgnoreCase missing", `{"StringNotEqualsIgnoreCase":{"aws:RequestTag/env":"prod"}}`, nil, true},
		{"StringLike star", `{"StringLike":{"aws:username":"al*"}}`, nil, true},
		{"StringLike question", `{"StringLike":{"aws:username":"a?ice"}}`, nil, true},
		{"StringLike case-sensitive", `{"StringLike":{"aws:username":"Al*"}}`, nil, false},
		{"StringLike no match", `{"StringLike":{"aws:username":"b*"}}`, nil, false},
		{"StringLike missing", `{"StringLike":{"aws:RequestTag/env":"*"}}`, nil, false},
		{"StringLike star matches empty value", `{"StringLike":{"aws:RequestTag/env":"*"}}`, ctx("aws:RequestTag/env", ""), true},
		{"StringNotLike no match", `{"StringNotLike":{"aws:username":"b*"}}`, nil, true},
		{"StringNotLike match", `{"StringNotLike":{"aws:username":"a*"}}`, nil, false},
		{"StringNotLike missing", `{"StringNotLike":{"aws:RequestTag/env":"*"}}`, nil, true},
		{"keys are ANDed true", `{"StringEquals":{"aws:username":"alice","aws:PrincipalAccount":"111122223333"}}`, nil, true},
		{"keys are ANDed false", `{"StringEquals":{"aws:username":"alice","aws:PrincipalAccount":"444455556666"}}`, nil, false},
		{"operators are ANDed true", `{"StringEquals":{"aws:username":"alice"},"StringLike":{"aws:PrincipalArn":"*:user/*"}}`, nil, true},
		{"operators are ANDed false", `{"StringEquals":{"aws:username":"alice"},"StringLike":{"aws:PrincipalArn":"*:role/*"}}`, nil, false},

		// Numeric operators.
		{"NumericEquals", `{"NumericEquals":{"berth:count":"10"}}`, count("10"), true},
		{"NumericEquals float form", `{"NumericEquals":{"berth:count":"10.0"}}`, count("10"), true},
		{"NumericEquals JSON number", `{"NumericEquals":{"berth:count":10}}`, count("10"), true},
		{"NumericEquals differs", `{"NumericEquals":{"berth:count":"11"}}`, count("10"), false},
		{"NumericNotEquals differs", `{"NumericNotEquals":{"berth:count":"11"}}`, count("10"), true},
		{"NumericNotEquals equal", `{"NumericNotEquals":{"berth:count":"10"}}`, count("10"), false},
		{"NumericNotEquals missing", `{"NumericNotEquals":{"berth:count":"10"}}`, nil, true},
		{"NumericLessThan true", `{"NumericLessThan":{"berth:count":"11"}}`, count("10"), true},
		{"NumericLessThan equal", `{"NumericLessThan":{"berth:count":"10"}}`, count("10"), false},
		{"NumericLessThanEquals equal", `{"NumericLessThanEquals":{"berth:count":"10"}}`, count("10"), true},
		{"NumericLessThanEquals below", `{"NumericLessThanEquals":{"berth:count":"9"}}`, count("10"), false},
		{"NumericGreaterThan true", `{"NumericGreaterThan":{"berth:count":"9"}}`, count("10"), true},
		{"NumericGreaterThan equal", `{"NumericGreaterThan":{"berth:count":"10"}}`, count("10"), false},
		{"NumericGreaterThanEquals equal", `{"NumericGreaterThanEquals":{"berth:count":"10"}}`, count("10"), true},
		{"NumericGreaterThanEquals above", `{"NumericGreaterThanEquals":{"berth:count":"11"}}`, count("10"), false},
		{"NumericLessThan negative", `{"NumericLessThan":{"berth:count":"0"}}`, count("-1.5"), true},
		{"Numeric request not a number", `{"NumericLessThan":{"berth:count":"11"}}`, count("ten"), false},
		{"Numeric policy not a number", `{"NumericLessThan":{"berth:count":"eleven"}}`, count("10"), false},
		{"Numeric missing", `{"NumericLessThan":{"berth:count":"11"}}`, nil, false},
		{"NumericLessThan on epoch time", `{"NumericLessThan":{"aws:EpochTime":"1900000000"}}`, nil, true},

		// Date operators (now is 2026-06-15T12:00:00Z).
		{"DateLessThan future", `{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, nil, true},
		{"DateLessThan past", `{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, nil, false},
		{"DateGreaterThan past", `{"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, nil, true},
		{"DateGreaterThan future", `{"DateGreaterThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, nil, false},
		{"DateEquals now", `{"DateEquals":{"aws:CurrentTime":"2026-06-15T12:00:00Z"}}`, nil, true},
		{"DateEquals other", `{"DateEquals":{"aws:CurrentTime":"2026-06-15T12:00:01Z"}}`, nil, false},
		{"DateNotEquals now", `{"DateNotEquals":{"aws:CurrentTime":"2026-06-15T12:00:00Z"}}`, nil, false},
		{"DateNotEquals other", `{"DateNotEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, nil, true},
		{"DateLessThanEquals now", `{"DateLessThanEquals":{"aws:CurrentTime":"2026-06-15T12:00:00Z"}}`, nil, true},
		{"DateGreaterThanEquals now", `{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-06-15T12:00:00Z"}}`, nil, true},
		{"DateGreaterThanEquals later", `{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-06-15T12:00:01Z"}}`, nil, false},
		{"Date epoch value", `{"DateGreaterThan":{"aws:CurrentTime":"1700000000"}}`, nil, true},
		{"Date on EpochTime key", `{"DateLessThan":{"aws:EpochTime":"2000000000"}}`, nil, true},
		{"Date date-only value", `{"DateGreaterThan":{"aws:CurrentTime":"2026-06-15"}}`, nil, true},
		{"Date with zone offset", `{"DateGreaterThan":{"aws:CurrentTime":"2026-06-15T13:00:00+02:00"}}`, nil, true},
		{"Date fractional seconds", `{"DateLessThan":{"aws:CurrentTime":"2026-06-15T12:00:00.5Z"}}`, nil, true},
		{"Date values ORed", `{"DateLessThan":{"aws:CurrentTime":["2020-01-01T00:00:00Z","2030-01-01T00:00:00Z"]}}`, nil, true},
		{"Date context key", `{"DateLessThan":{"berth:created":"2021-01-01T00:00:00Z"}}`, ctx("berth:created", "2020-05-01T00:00:00Z"), true},
		{"Date context key epoch", `{"DateLessThan":{"berth:created":"2021-01-01T00:00:00Z"}}`, ctx("berth:created", "1588291200"), true},
		{"Date context key unparsable", `{"DateLessThan":{"berth:created":"2021-01-01T00:00:00Z"}}`, ctx("berth:created", "yesterday"), false},
		{"Date missing key", `{"DateLessThan":{"berth:created":"2021-01-01T00:00:00Z"}}`, nil, false},
		{"StringLike on CurrentTime", `{"StringLike":{"aws:CurrentTime":"2026-06-15T*"}}`, nil, true},
		{"StringEquals on EpochTime", `{"StringEquals":{"aws:EpochTime":"1781524800"}}`, nil, true},
		{"Now is truncated to seconds", `{"DateEquals":{"aws:CurrentTime":"2026-06-15T12:00:00Z"}}`, func(r *Request) { r.Now = testNow.Add(400_000_000) }, true},

		// Bool.
		{"Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, nil, true},
		{"Bool false", `{"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
		{"Bool false on plain HTTP", `{"Bool":{"aws:SecureTransport":"false"}}`, insecure, true},
		{"Bool value case-insensitive", `{"Bool":{"aws:SecureTransport":"True"}}`, nil, true},
		{"Bool JSON literal", `{"Bool":{"aws:SecureTransport":true}}`, nil, true},
		{"Bool missing key", `{"Bool":{"berth:flag":"true"}}`, nil, false},
		{"BoolIfExists missing key", `{"BoolIfExists":{"berth:flag":"true"}}`, nil, true},
		{"Bool context value", `{"Bool":{"berth:flag":"true"}}`, ctx("berth:flag", "TRUE"), true},

		// Binary.
		{"BinaryEquals", `{"BinaryEquals":{"berth:blob":"QmVydGg="}}`, ctx("berth:blob", "QmVydGg="), true},
		{"BinaryEquals differs", `{"BinaryEquals":{"berth:blob":"QmVydGg="}}`, ctx("berth:blob", "qmVydGg="), false},

		// IP address.
		{"IpAddress CIDR", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, true},
		{"IpAddress other CIDR", `{"IpAddress":{"aws:SourceIp":"192.168.0.0/16"}}`, nil, false},
		{"IpAddress list", `{"IpAddress":{"aws:SourceIp":["192.168.0.0/16","10.1.2.3/32"]}}`, nil, true},
		{"IpAddress bare address", `{"IpAddress":{"aws:SourceIp":"10.1.2.3"}}`, nil, true},
		{"IpAddress bare other address", `{"IpAddress":{"aws:SourceIp":"10.1.2.4"}}`, nil, false},
		{"IpAddress unmasked CIDR", `{"IpAddress":{"aws:SourceIp":"10.1.2.200/24"}}`, nil, true},
		{"NotIpAddress inside", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, false},
		{"NotIpAddress outside", `{"NotIpAddress":{"aws:SourceIp":"192.168.0.0/16"}}`, nil, true},
		{"IpAddress IPv6", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, ip("2001:db8::1"), true},
		{"IpAddress IPv6 vs v4 range", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, ip("2001:db8::1"), false},
		{"IpAddress v4-mapped request", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, ip("::ffff:10.1.2.3"), true},
		{"IpAddress no source", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, noIP, false},
		{"NotIpAddress no source", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, noIP, true},
		{"IpAddressIfExists no source", `{"IpAddressIfExists":{"aws:SourceIp":"192.168.0.0/16"}}`, noIP, true},
		{"IpAddress from context", `{"IpAddress":{"aws:SourceIp":"172.16.0.0/12"}}`, all(noIP, ctx("aws:SourceIp", "172.16.5.5")), true},
		{"IpAddress invalid policy value", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/99"}}`, nil, false},
		{"StringLike on SourceIp", `{"StringLike":{"aws:SourceIp":"10.1.*"}}`, nil, true},

		// ARN operators.
		{"ArnLike account users", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/*"}}`, nil, true},
		{"ArnLike wildcards per component", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/al*"}}`, nil, true},
		{"ArnLike question mark", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/al?ce"}}`, nil, true},
		{"ArnLike other user", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/b*"}}`, nil, false},
		{"ArnLike case-sensitive", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/Alice"}}`, nil, false},
		{"ArnLike resource component wildcard", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:*"}}`, nil, true},
		{"ArnLike too few components", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*"}}`, nil, false},
		{"ArnEquals exact", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/alice"}}`, nil, true},
		{"ArnEquals wildcard like ArnLike", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::*:user/alice"}}`, nil, true},
		{"ArnNotLike other", `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/bob"}}`, nil, true},
		{"ArnNotEquals same", `{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/alice"}}`, nil, false},
		{"ArnLike missing key", `{"ArnLike":{"aws:SourceArn":"arn:aws:*:*:*:*"}}`, nil, false},
		{"ArnNotLike missing key", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:*:*:*:*"}}`, nil, true},
		{"ArnLike request value not an ARN", `{"ArnLike":{"berth:arn":"arn:*:*:*:*:*"}}`, ctx("berth:arn", "not-an-arn"), false},
		{"ArnLike resource with colons", `{"ArnLike":{"berth:arn":"arn:aws:logs:*:*:log-group:*"}}`, ctx("berth:arn", "arn:aws:logs:us-east-1:111122223333:log-group:x:*"), true},
		{"ArnLike star does not span components", `{"ArnLike":{"berth:arn":"arn:aws:logs:*:log-group:x"}}`, ctx("berth:arn", "arn:aws:logs:us-east-1:111122223333:log-group:x"), false},

		// Null.
		{"Null true on missing", `{"Null":{"aws:RequestTag/env":"true"}}`, nil, true},
		{"Null true on present", `{"Null":{"aws:RequestTag/env":"true"}}`, ctx("aws:RequestTag/env", "prod"), false},
		{"Null false on present", `{"Null":{"aws:RequestTag/env":"false"}}`, ctx("aws:RequestTag/env", "prod"), true},
		{"Null false on missing", `{"Null":{"aws:RequestTag/env":"false"}}`, nil, false},
		{"Null false on builtin", `{"Null":{"aws:username":"false"}}`, nil, true},
		{"Null JSON bool", `{"Null":{"aws:RequestTag/env":true}}`, nil, true},
		{"Null invalid value", `{"Null":{"aws:RequestTag/env":"maybe"}}`, nil, false},

		// IfExists.
		{"StringEqualsIfExists missing", `{"StringEqualsIfExists":{"aws:RequestTag/env":"prod"}}`, nil, true},
		{"StringEqualsIfExists present match", `{"StringEqualsIfExists":{"aws:RequestTag/env":"prod"}}`, ctx("aws:RequestTag/env", "prod"), true},
		{"StringEqualsIfExists present mismatch", `{"StringEqualsIfExists":{"aws:RequestTag/env":"prod"}}`, ctx("aws:RequestTag/env", "dev"), false},
		{"StringNotEqualsIfExists missing", `{"StringNotEqualsIfExists":{"aws:RequestTag/env":"prod"}}`, nil, true},
		{"StringNotEqualsIfExists present equal", `{"StringNotEqualsIfExists":{"aws:RequestTag/env":"prod"}}`, ctx("aws:RequestTag/env", "prod"), false},
		{"StringLikeIfExists missing", `{"StringLikeIfExists":{"aws:RequestTag/env":"p*"}}`, nil, true},
		{"NumericLessThanIfExists missing", `{"NumericLessThanIfExists":{"berth:count":"1"}}`, nil, true},
		{"NumericLessThanIfExists present", `{"NumericLessThanIfExists":{"berth:count":"1"}}`, count("5"), false},
		{"DateLessThanIfExists missing", `{"DateLessThanIfExists":{"berth:created":"2000-01-01"}}`, nil, true},
		{"ArnLikeIfExists missing", `{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:*:*:*:x"}}`, nil, true},
		{"IpAddressIfExists present outside", `{"IpAddressIfExists":{"aws:SourceIp":"192.168.0.0/16"}}`, nil, false},

		// Set operators.
		{"ForAnyValue one matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`, tags, true},
		{"ForAnyValue none matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"owner"}}`, tags, false},
		{"ForAnyValue missing key", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`, nil, false},
		{"ForAnyValue empty set", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`, func(r *Request) { r.Context = map[string][]string{"aws:TagKeys": {}} }, false},
		{"ForAllValues subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team","owner"]}}`, tags, true},
		{"ForAllValues not subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":"env"}}`, tags, false},
		{"ForAllValues missing key", `{"ForAllValues:StringEquals":{"aws:TagKeys":"env"}}`, nil, true},
		{"ForAllValues empty set", `{"ForAllValues:StringEquals":{"aws:TagKeys":"env"}}`, func(r *Request) { r.Context = map[string][]string{"aws:TagKeys": {}} }, true},
		{"ForAllValues StringLike", `{"ForAllValues:StringLike":{"aws:TagKeys":["e*","t*"]}}`, tags, true},
		{"ForAllValues IgnoreCase", `{"ForAllValues:StringEqualsIgnoreCase":{"aws:TagKeys":["ENV","TEAM"]}}`, tags, true},
		{"ForAnyValue StringNotEquals some differ", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"env"}}`, tags, true},
		{"ForAnyValue StringNotEquals all equal", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"env"}}`, ctx("aws:TagKeys", "env"), false},
		{"ForAllValues StringNotEquals none listed", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":"owner"}}`, tags, true},
		{"ForAllValues StringNotEquals one listed", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":"env"}}`, tags, false},
		{"ForAllValues StringNotEquals missing", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":"env"}}`, nil, true},
		{"ForAnyValue StringNotEquals missing", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"env"}}`, nil, false},
		{"ForAllValues IfExists missing", `{"ForAllValues:StringEqualsIfExists":{"aws:TagKeys":"env"}}`, nil, true},
		{"ForAnyValue IfExists missing", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"env"}}`, nil, true},
		{"ForAnyValue IfExists present", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"owner"}}`, tags, false},
		{"ForAnyValue NumericGreaterThan", `{"ForAnyValue:NumericGreaterThan":{"berth:sizes":"100"}}`, ctx("berth:sizes", "5", "berth:sizes", "500"), true},
		{"ForAllValues NumericLessThan", `{"ForAllValues:NumericLessThan":{"berth:sizes":"100"}}`, ctx("berth:sizes", "5", "berth:sizes", "500"), false},
		{"ForAnyValue IpAddress", `{"ForAnyValue:IpAddress":{"berth:ips":"10.0.0.0/8"}}`, ctx("berth:ips", "192.168.1.1", "berth:ips", "10.9.9.9"), true},
		{"ForAllValues ArnLike", `{"ForAllValues:ArnLike":{"berth:arns":"arn:aws:ecr:*:*:repository/*"}}`, ctx("berth:arns", repoARN, "berth:arns", repoPfx+"b"), true},

		// Tags and built-in keys.
		{"aws:ResourceTag reads ecr:ResourceTag", `{"StringEquals":{"aws:ResourceTag/env":"prod"}}`, ctx("ecr:ResourceTag/env", "prod"), true},
		{"ecr:ResourceTag reads aws:ResourceTag", `{"StringEquals":{"ecr:ResourceTag/env":"prod"}}`, ctx("aws:ResourceTag/env", "prod"), true},
		{"ecr:ResourceTag direct", `{"StringEquals":{"ecr:ResourceTag/env":"prod"}}`, ctx("ecr:resourcetag/env", "prod"), true},
		{"ResourceTag other tag", `{"StringEquals":{"aws:ResourceTag/env":"prod"}}`, ctx("aws:ResourceTag/team", "prod"), false},
		{"aws:RequestTag", `{"StringEquals":{"aws:RequestTag/team":"blue"}}`, ctx("aws:RequestTag/team", "blue"), true},
		{"aws:PrincipalAccount", `{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}`, nil, true},
		{"aws:PrincipalArn", `{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/alice"}}`, nil, true},
		{"aws:userid", `{"StringEquals":{"aws:userid":"AIDAALICE"}}`, nil, true},
		{"aws:PrincipalType", `{"StringEquals":{"aws:PrincipalType":"User"}}`, nil, true},
		{"aws:username anonymous", `{"Null":{"aws:username":"true"}}`, as(Principal{}), true},
		{"aws:PrincipalType anonymous", `{"StringEquals":{"aws:PrincipalType":"Anonymous"}}`, as(Principal{}), true},
		{"built-in wins over context", `{"StringEquals":{"aws:username":"alice"}}`, ctx("aws:username", "mallory"), true},
		{"context fills absent built-in", `{"StringEquals":{"aws:PrincipalArn":"x"}}`, all(as(Principal{}), ctx("aws:PrincipalArn", "x")), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustIdentity(t, doc(st("Allow", `"ecr:*"`, anyRes, `"Condition":`+tc.cond)))
			req := baseRequest()
			if tc.mod != nil {
				tc.mod(&req)
			}
			got := Evaluate(req, []*Policy{p}, nil)
			if got.Allowed != tc.want {
				t.Fatalf("condition %s: allowed = %v, want %v (%+v)", tc.cond, got.Allowed, tc.want, got)
			}
		})
	}
}
