package policy

import (
	"errors"
	"net"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	AmazonEC2ContainerRegistryReadOnly,
	AmazonEC2ContainerRegistryFullAccess,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:${aws:PrincipalAccount}:repository/${aws:username}/*"}}`,
	`{"Version":"2008-10-17","Statement":[{"Sid":"p","Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/alice"]},"Action":["ecr:BatchGetImage"]}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","NotAction":"ecr:Get*","Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["e*"]},"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"}}}]}`,
	`{"Statement":{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:ecr:*:*:repository/x","Condition":{"Null":{"aws:RequestTag/env":true},"NumericLessThan":{"berth:n":5}}}}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:ResourceTag/owner":"${aws:username, 'x'}"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::${aws:PrincipalAccount}:*"}}}}`,
	`{"Version":"2012-10-17","Statement":[]}`,
	`{"Statement":{"Effect":"allow"}}`,
	`[1,2,{"a":null}]`,
}

// fuzzRequests are fixed requests a policy and its re-serialization must
// decide alike.
func fuzzRequests() []Request {
	alicePut := baseRequest()
	alicePut.Context = map[string][]string{
		"aws:tagkeys":           {"env", "team"},
		"aws:resourcetag/owner": {"alice"},
		"berth:n":               {"3"},
	}
	rootGet := baseRequest()
	rootGet.Principal = root()
	rootGet.Action = "ecr:GetDownloadUrlForLayer"
	anon := baseRequest()
	anon.Principal = Principal{}
	anon.Action = "ecr:BatchGetImage"
	anon.SourceIP = net.ParseIP("192.168.1.1")
	bob := baseRequest()
	bob.Principal = Principal{ARN: bobARN, AccountID: acct, UserName: "bob", UserID: "AIDABOB"}
	bob.Resource = repoPfx + "bob/x"
	bob.Action = "iam:CreateUser"
	return []Request{alicePut, rootGet, anon, bob}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	reqs := fuzzRequests()
	f.Fuzz(func(t *testing.T, d string) {
		for _, kind := range []Kind{KindIdentity, KindResource} {
			parse := ParseIdentityPolicy
			if kind == KindResource {
				parse = ParseResourcePolicy
			}
			p, err := parse(d)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				continue
			}
			canon := p.String()
			p2, err := parse(canon, WithSizeLimit(0, false))
			if err != nil {
				t.Fatalf("re-parse of %s (from %q): %v", canon, d, err)
			}
			if again := p2.String(); again != canon {
				t.Fatalf("canonical form unstable:\n%s\n%s", canon, again)
			}
			for i, req := range reqs {
				var a, b Decision
				if kind == KindIdentity {
					a, b = Evaluate(req, []*Policy{p}, nil), Evaluate(req, []*Policy{p2}, nil)
				} else {
					a, b = Evaluate(req, nil, []*Policy{p}), Evaluate(req, nil, []*Policy{p2})
				}
				if a != b {
					t.Fatalf("request %d: %+v before, %+v after re-serialization of %q", i, a, b, d)
				}
			}
		}
	})
}

// globRegexp is the reference semantics of a wildcard pattern.
func globRegexp(pattern string, fold bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^(?s)")
	if fold {
		b.WriteString("(?i)")
	}
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func FuzzPatternMatch(f *testing.F) {
	f.Add("a*b?c", "axxbyc", false)
	f.Add("*a*a*b", "aaaab", false)
	f.Add("ecr:*", "ECR:PutImage", true)
	f.Add("?é*", "xé", false)
	f.Fuzz(func(t *testing.T, pattern, s string, fold bool) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) || len(pattern) > 64 || len(s) > 256 {
			return
		}
		if fold && (!isASCII(pattern) || !isASCII(s)) {
			return // folding is exact only for ASCII, which is what IAM names use
		}
		p := compilePattern(pattern, true, false, fold)
		want := globRegexp(pattern, fold).MatchString(s)
		if got := p.match(s, nil); got != want {
			t.Fatalf("match(%q, %q, fold=%v) = %v, regexp says %v", pattern, s, fold, got, want)
		}
	})
}
