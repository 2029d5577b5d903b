package ecrapi

import (
	"strings"
	"testing"
)

// FuzzAuthInputs feeds arbitrary JSON bodies to what the authorization hook
// reads from an input (resource targets, request tags): it must never panic
// and always name at least one resource.
func FuzzAuthInputs(f *testing.F) {
	for _, seed := range []string{
		`{"repositoryName":"app"}`,
		`{"repositoryNames":["a","b",1,null]}`,
		`{"resourceArn":"arn:aws:ecr:us-east-1:123456789012:repository/app","tags":[{"Key":"k","Value":"v"},{"Key":1}]}`,
		`{"tagKeys":["a",{"x":1}],"tags":"nope"}`,
		`{"repositoryName":5,"repositoryNames":{}}`,
		`[]`, `null`, `{}`,
	} {
		f.Add([]byte(seed))
	}
	s := &Service{opts: Options{AccountID: testAccount, Region: testRegion}}
	f.Fuzz(func(t *testing.T, body []byte) {
		params, err := decodeParams(body)
		if err != nil {
			return
		}
		targets := s.authTargets(params)
		if len(targets) == 0 {
			t.Fatalf("no targets for %s", body)
		}
		for _, tg := range targets {
			if tg.arn == "" || (tg.repo != "" && !strings.HasSuffix(tg.arn, "/"+tg.repo)) {
				t.Fatalf("target %+v for %s", tg, body)
			}
		}
		for k := range requestTags(params) {
			if k != strings.ToLower(k) {
				t.Fatalf("condition key %q is not lower-case", k)
			}
		}
	})
}
