package lifecycle

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"
)

// fuzzImages is a small repository with every feature evaluation looks at.
var fuzzImages = []Image{
	img("a", days(1), "prod-1", "v1"),
	img("b", days(40), "dev-1"),
	img("c", days(400)),
	childOf(img("c1", days(400)), "idx"),
	img("idx", days(2), "release-1"),
	referrerOf(img("sig", days(1)), "b"),
	archived(img("d", days(500), "v0"), days(200)),
	with(img("e", days(100)), func(i *Image) { i.LastPulledAt = ptr(ago(days(3))) }),
}

func FuzzParse(f *testing.F) {
	f.Add(policy(rule(1, untagged7, expire), rule(2, anyCount, expire)))
	f.Add(policy(rule(1, pulled30Any, transition), rule(2, archived90, expire)))
	f.Add(policy(rule(1, prodPrefix, expire)))
	f.Add(policy(rule(1, `"tagStatus":"tagged","tagPatternList":["*a*b*c*d"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1`, expire)))
	f.Add(pad(`{"rules":[{"rulePriority":1e3}]}`))
	f.Add(pad(`{"rules":[{"rulePriority":99999999999999999999999}]}`))
	f.Add(pad(`{"rules":null}`))
	f.Add(pad(`[`))
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(text)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" || (e.Code != CodeInvalidParameter && e.Code != CodeValidation) {
				t.Fatalf("Parse() error = %#v, want an *Error with a code and message", err)
			}
			if p != nil {
				t.Fatalf("Parse() returned a policy with an error")
			}
			return
		}
		if len(p.Rules) == 0 || len(p.Rules) > MaxRules {
			t.Fatalf("Parse() accepted %d rules", len(p.Rules))
		}
		for i, r := range p.Rules {
			if r.Priority < 1 || (i > 0 && r.Priority <= p.Rules[i-1].Priority) {
				t.Fatalf("rules not in strictly increasing priority order: %+v", p.Rules)
			}
			if r.CountNumber < 1 {
				t.Fatalf("rule %d has countNumber %d", r.Priority, r.CountNumber)
			}
		}
		results := Evaluate(p, fuzzImages, now)
		seen := make(map[digest.Digest]bool)
		for _, r := range results {
			if seen[r.Digest] {
				t.Fatalf("image %s acted on twice", r.Digest)
			}
			seen[r.Digest] = true
		}
		_ = Preview(results)
		_ = Summarize(results)
	})
}

// FuzzWildcardMatch checks the matcher against a regular expression built
// from the same pattern.
func FuzzWildcardMatch(f *testing.F) {
	f.Add("prod*", "production")
	f.Add("*a*b*", "xaxbx")
	f.Add("a*a*a*b", "aaaaaaaaaaaac")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 {
			return
		}
		// The matcher works on bytes; compare on valid UTF-8 only, where both
		// agree on what a character is.
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			wildcardMatch(pattern, s)
			return
		}
		parts := strings.Split(pattern, "*")
		for i, part := range parts {
			parts[i] = regexp.QuoteMeta(part)
		}
		// (?s) so that '.' also spans newlines, as '*' does.
		re := regexp.MustCompile(`(?s)\A` + strings.Join(parts, ".*") + `\z`)
		if got, want := wildcardMatch(pattern, s), re.MatchString(s); got != want {
			t.Fatalf("wildcardMatch(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	})
}
