package registry

import (
	"strings"
	"testing"
)

func TestMatchTemplate(t *testing.T) {
	push := []string{AppliedCreateOnPush}
	ts := []*CreationTemplate{
		{Prefix: TemplatePrefixRoot, AppliedFor: push},
		{Prefix: "team", AppliedFor: push},
		{Prefix: "team/app", AppliedFor: push},
		{Prefix: "cache", AppliedFor: []string{AppliedPullThroughCache}},
		{Prefix: "mixed", AppliedFor: []string{AppliedReplication, AppliedCreateOnPush}},
	}
	tests := []struct {
		name, want string
	}{
		{"other", TemplatePrefixRoot},
		{"team/x", "team"},
		{"team/app/web", "team/app"},
		{"team/application", "team"}, // namespaces match whole components
		{"team", TemplatePrefixRoot}, // the namespace itself is not under it
		{"teams/x", TemplatePrefixRoot},
		{"cache/x", TemplatePrefixRoot}, // not a CREATE_ON_PUSH template
		{"mixed/x", "mixed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := matchTemplate(ts, tc.name)
			if got == nil || got.Prefix != tc.want {
				t.Fatalf("matchTemplate(%q) = %+v, want %s", tc.name, got, tc.want)
			}
		})
	}
	if got := matchTemplate(ts[1:3], "other"); got != nil {
		t.Fatalf("no ROOT template: matchTemplate = %+v, want nil", got)
	}
}

func TestValidateTemplate(t *testing.T) {
	push := []string{AppliedCreateOnPush}
	tests := []struct {
		name string
		t    CreationTemplate
		ok   bool
	}{
		{"root", CreationTemplate{Prefix: "ROOT", AppliedFor: push}, true},
		{"namespace with slash", CreationTemplate{Prefix: "team/", AppliedFor: push}, true},
		{"no appliedFor", CreationTemplate{Prefix: "team"}, false},
		{"bad appliedFor", CreationTemplate{Prefix: "team", AppliedFor: []string{"SOMETIMES"}}, false},
		{"duplicate appliedFor", CreationTemplate{Prefix: "team", AppliedFor: []string{AppliedCreateOnPush, AppliedCreateOnPush}}, false},
		{"bad prefix", CreationTemplate{Prefix: "Team!", AppliedFor: push}, false},
		{"bad mutability", CreationTemplate{Prefix: "team", AppliedFor: push, ImageTagMutability: "SOMETIMES"}, false},
		{"bad lifecycle policy", CreationTemplate{Prefix: "team", AppliedFor: push, LifecyclePolicy: `{"rules":[]}`}, false},
		{"bad repository policy", CreationTemplate{Prefix: "team", AppliedFor: push, RepositoryPolicy: `{"Statement":"x"}`}, false},
		{"good lifecycle policy", CreationTemplate{Prefix: "team", AppliedFor: push,
			LifecyclePolicy: `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.t.validate()
			if (err == nil) != tc.ok {
				t.Fatalf("validate() = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (tc.t.ImageTagMutability == "" || tc.t.EncryptionType == "" || strings.HasSuffix(tc.t.Prefix, "/")) {
				t.Fatalf("defaults not filled: %+v", tc.t)
			}
		})
	}
}
