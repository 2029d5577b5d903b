package lifecycle

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// pad right-pads a policy text with spaces to the minimum length, so that
// tests can write short policies.
func pad(text string) string {
	if n := MinTextLength - utf16Len(text); n > 0 {
		return text + strings.Repeat(" ", n)
	}
	return text
}

// policy builds a padded policy text from rule objects.
func policy(rules ...string) string {
	return pad(`{"rules":[` + strings.Join(rules, ",") + `]}`)
}

// rule builds one rule object from its selection members and action.
func rule(priority int, selection, action string) string {
	return fmt.Sprintf(`{"rulePriority":%d,"selection":{%s},"action":%s}`, priority, selection, action)
}

const (
	expire      = `{"type":"expire"}`
	transition  = `{"type":"transition","targetStorageClass":"archive"}`
	anyCount    = `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5`
	untagged7   = `"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7`
	archived90  = `"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`
	prodPrefix  = `"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":3`
	pulled30Any = `"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":30`
)

func TestParseErrors(t *testing.T) {
	manyRules := make([]string, 51)
	for i := range manyRules {
		manyRules[i] = rule(i+1, fmt.Sprintf(`"tagStatus":"tagged","tagPrefixList":["p%d"],"countType":"imageCountMoreThan","countNumber":1`, i), expire)
	}
	tests := []struct {
		name   string
		text   string
		code   string // CodeInvalidParameter unless set
		reason string
	}{
		{"too short", `{"rules":[]}`, CodeValidation, "Member must have length greater than or equal to 100"},
		{"too long", policy(rule(1, anyCount, expire)) + strings.Repeat(" ", MaxTextLength), CodeValidation, "Member must have length less than or equal to 30720"},
		{"not json", pad(`{"rules":`), "", "Could not map policyString into LifecyclePolicy."},
		{"not an object", pad(`[{"rules":[]}]`), "", "Could not map policyString into LifecyclePolicy."},
		{"trailing data", pad(`{"rules":[]} {}`), "", "Could not map policyString into LifecyclePolicy."},
		{"missing rules", pad(`{"rulez":[]}`), "", `object has missing required properties (["rules"])`},
		{"rules not a list", pad(`{"rules":{"rulePriority":1}}`), "", `object has missing required properties (["rules"])`},
		{"extra top-level member", pad(`{"rules":[` + rule(1, anyCount, expire) + `],"version":1}`), "", `object instance has properties which are not allowed by the schema: (["version"])`},
		{"no rules", pad(`{"rules":[]}`), "", "array is too short: must have at least 1 elements but instance has 0 elements"},
		{"51 rules", policy(manyRules...), "", "array is too long: must have at most 50 elements but instance has 51 elements"},
		{"rule not an object", policy(`"rule"`), "", `instance type (string) does not match any allowed primitive type (allowed: ["object"])`},
		{"rule missing members", policy(`{"rulePriority":1}`), "", `object has missing required properties (["action", "selection"])`},
		{"rule extra member", policy(`{"rulePriority":1,"selection":{` + anyCount + `},"action":` + expire + `,"name":"x","id":2}`), "", `object instance has properties which are not allowed by the schema: (["id", "name"])`},
		{"priority a string", policy(`{"rulePriority":"1","selection":{` + anyCount + `},"action":` + expire + `}`), "", `instance type (string) does not match any allowed primitive type (allowed: ["integer"])`},
		{"priority fractional", policy(`{"rulePriority":1.5,"selection":{` + anyCount + `},"action":` + expire + `}`), "", `instance type (number) does not match any allowed primitive type (allowed: ["integer"])`},
		{"priority zero", policy(rule(0, anyCount, expire)), "", "numeric instance is lower than the required minimum (minimum: 1, found: 0)"},
		{"priority negative", policy(rule(-3, anyCount, expire)), "", "numeric instance is lower than the required minimum (minimum: 1, found: -3)"},
		{"priority beyond int32", policy(rule(3000000000, anyCount, expire)), "", "Could not map policyString into LifecyclePolicy."},
		{"description not a string", policy(`{"rulePriority":1,"description":7,"selection":{` + anyCount + `},"action":` + expire + `}`), "", `instance type (integer) does not match any allowed primitive type (allowed: ["string"])`},
		{"action not an object", policy(rule(1, anyCount, `"expire"`)), "", `instance type (string) does not match any allowed primitive type (allowed: ["object"])`},
		{"action missing type", policy(rule(1, anyCount, `{}`)), "", `object has missing required properties (["type"])`},
		{"action extra member", policy(rule(1, anyCount, `{"type":"expire","after":1}`)), "", `object instance has properties which are not allowed by the schema: (["after"])`},
		{"action type unknown", policy(rule(1, anyCount, `{"type":"delete"}`)), "", `instance value (delete) not found in enum :(possible values: ["expire", "transition"])`},
		{"action type upper case", policy(rule(1, anyCount, `{"type":"EXPIRE"}`)), "", `instance value (EXPIRE) not found in enum :(possible values: ["expire", "transition"])`},
		{"target class unknown", policy(rule(1, anyCount, `{"type":"transition","targetStorageClass":"glacier"}`)), "", `instance value (glacier) not found in enum :(possible values: ["archive"])`},
		{"selection missing members", policy(rule(1, `"tagStatus":"any"`, expire)), "", `object has missing required properties (["countNumber", "countType"])`},
		{"selection extra member", policy(rule(1, anyCount+`,"tagSuffixList":["x"]`, expire)), "", `object instance has properties which are not allowed by the schema: (["tagSuffixList"])`},
		{"tag status unknown", policy(rule(1, `"tagStatus":"TAGGED","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1`, expire)), "", `instance value (TAGGED) not found in enum :(possible values: ["any", "tagged", "untagged"])`},
		{"tag status not a string", policy(rule(1, `"tagStatus":true,"countType":"imageCountMoreThan","countNumber":1`, expire)), "", `instance type (boolean) does not match any allowed primitive type (allowed: ["string"])`},
		{"count type unknown", policy(rule(1, `"tagStatus":"any","countType":"sinceImageBuilt","countUnit":"days","countNumber":1`, expire)), "", "instance failed to match exactly one schema (matched 0 out of 2)"},
		{"count unit unknown", policy(rule(1, `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"hours","countNumber":1`, expire)), "", `instance value (hours) not found in enum :(possible values: ["days"])`},
		{"count number zero", policy(rule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":0`, expire)), "", "numeric instance is lower than the required minimum (minimum: 1, found: 0)"},
		{"count number a string", policy(rule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":"5"`, expire)), "", `instance type (string) does not match any allowed primitive type (allowed: ["integer"])`},
		{"count number null", policy(rule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":null`, expire)), "", `instance type (null) does not match any allowed primitive type (allowed: ["integer"])`},
		{"storage class unknown", policy(rule(1, anyCount+`,"storageClass":"cold"`, expire)), "", `instance value (cold) not found in enum :(possible values: ["archive", "standard"])`},
		{"prefix list a string", policy(rule(1, `"tagStatus":"tagged","tagPrefixList":"prod","countType":"imageCountMoreThan","countNumber":1`, expire)), "", `instance type (string) does not match any allowed primitive type (allowed: ["array"])`},
		{"prefix list of numbers", policy(rule(1, `"tagStatus":"tagged","tagPrefixList":[1],"countType":"imageCountMoreThan","countNumber":1`, expire)), "", `instance type (integer) does not match any allowed primitive type (allowed: ["string"])`},
		{"count unit with a count", policy(rule(1, anyCount+`,"countUnit":"days"`, expire)), "", "instance failed to match exactly one schema (matched 0 out of 2)"},
		{"age without a count unit", policy(rule(1, `"tagStatus":"any","countType":"sinceImagePushed","countNumber":3`, expire)), "", "instance failed to match exactly one schema (matched 0 out of 2)"},
		{"tagged without a list", policy(rule(1, `"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1`, expire)), "", "tagPrefixList or tagPatternList is required for a rule with tagStatus=TAGGED"},
		{"tagged with an empty list", policy(rule(1, `"tagStatus":"tagged","tagPrefixList":[],"countType":"imageCountMoreThan","countNumber":1`, expire)), "", "tagPrefixList or tagPatternList is required for a rule with tagStatus=TAGGED"},
		{"both lists", policy(rule(1, `"tagStatus":"tagged","tagPrefixList":["a"],"tagPatternList":["b*"],"countType":"imageCountMoreThan","countNumber":1`, expire)), "", "tagPrefixList and tagPatternList cannot both be specified in a rule"},
		{"untagged with a prefix list", policy(rule(1, `"tagStatus":"untagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1`, expire)), "", "tagPrefixList and tagPatternList can only be used with tagStatus=TAGGED"},
		{"any with a pattern list", policy(rule(1, `"tagStatus":"any","tagPatternList":["a*"],"countType":"imageCountMoreThan","countNumber":1`, expire)), "", "tagPrefixList and tagPatternList can only be used with tagStatus=TAGGED"},
		{"five wildcards", policy(rule(1, `"tagStatus":"tagged","tagPatternList":["*test*1*2*3","test*1*2*3*4*"],"countType":"imageCountMoreThan","countNumber":1`, expire)), "", `tagPatternList entry "test*1*2*3*4*" has more than 4 wildcards`},
		{"transitioned without storage class", policy(rule(1, `"tagStatus":"any","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, expire)), "", "storageClass archive is required for countType sinceImageTransitioned"},
		{"transitioned on standard", policy(rule(1, `"tagStatus":"any","storageClass":"standard","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, expire)), "", "storageClass archive is required for countType sinceImageTransitioned"},
		{"archive with push age", policy(rule(1, `"tagStatus":"any","storageClass":"archive","countType":"sinceImagePushed","countUnit":"days","countNumber":90`, expire)), "", "storageClass archive can only be used with countType sinceImageTransitioned"},
		{"archive with a count", policy(rule(1, anyCount+`,"storageClass":"archive"`, expire)), "", "storageClass archive can only be used with countType sinceImageTransitioned"},
		{"transition without target", policy(rule(1, pulled30Any, `{"type":"transition"}`)), "", "targetStorageClass is required for action type transition"},
		{"expire with target", policy(rule(1, anyCount, `{"type":"expire","targetStorageClass":"archive"}`)), "", "targetStorageClass can only be used with action type transition"},
		{"transition archived images", policy(rule(1, archived90, transition)), "", "Images in storage class archive can only be expired"},
		{"expire by pull age", policy(rule(1, pulled30Any, expire)), "", "countType sinceImagePulled can only be used with action type transition"},
		{"duplicate priorities", policy(rule(1, untagged7, expire), rule(1, anyCount, expire)), "", "Rule priorities must be unique."},
		{"two untagged rules", policy(rule(1, untagged7, expire), rule(2, `"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":3`, expire)), "", "Only one rule can select Untagged images per storage class."},
		{"any rule not last", policy(rule(2, untagged7, expire), rule(1, anyCount, expire)), "", "Rule for tagStatus=ANY must have the lowest priority per storage class"},
		{"two any rules", policy(rule(1, anyCount, transition), rule(2, `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":3`, expire)), "", "Rule for tagStatus=ANY must have the lowest priority per storage class"},
		{"any archive rule not last in archive", policy(rule(1, archived90, expire), rule(2, `"tagStatus":"tagged","tagPrefixList":["a"],"storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, expire)), "", "Rule for tagStatus=ANY must have the lowest priority per storage class"},
		{"same prefixes twice", policy(rule(1, `"tagStatus":"tagged","tagPrefixList":["a","b"],"countType":"imageCountMoreThan","countNumber":1`, expire), rule(2, `"tagStatus":"tagged","tagPrefixList":["b","a"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1`, expire)), "", "The set of all rules selecting a specific storage class must contain a unique set of prefixes."},
		{"same patterns twice", policy(rule(1, `"tagStatus":"tagged","tagPatternList":["a*"],"countType":"imageCountMoreThan","countNumber":1`, expire), rule(2, `"tagStatus":"tagged","tagPatternList":["a*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1`, expire)), "", "The set of all rules selecting a specific storage class must contain a unique set of prefixes."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.text)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse() = %+v, %v; want *Error", p, err)
			}
			code := tt.code
			if code == "" {
				code = CodeInvalidParameter
			}
			if e.Code != code || e.Reason != tt.reason {
				t.Errorf("Parse() error = %s %q\nwant %s %q", e.Code, e.Reason, code, tt.reason)
			}
			if p != nil {
				t.Errorf("Parse() policy = %+v alongside an error", p)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse(policy(rule(0, anyCount, expire)))
	want := "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: " +
		"'Lifecycle policy validation failure: numeric instance is lower than the required minimum (minimum: 1, found: 0)'"
	if err == nil || err.Error() != want {
		t.Fatalf("Parse() error = %v\nwant %s", err, want)
	}

	_, err = Parse(`{"rules":[]}`)
	want = "1 validation error detected: Value at 'lifecyclePolicyText' failed to satisfy constraint: " +
		"Member must have length greater than or equal to 100"
	if err == nil || err.Error() != want {
		t.Fatalf("Parse() error = %v\nwant %s", err, want)
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Rule
	}{
		{
			name: "rules come back sorted by priority",
			text: policy(
				rule(10, anyCount, expire),
				rule(2, `"tagStatus":"tagged","tagPatternList":["prod*","*-rc*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":14`, expire),
				rule(1, untagged7, expire),
			),
			want: []Rule{
				{Priority: 1, TagStatus: TagStatusUntagged, StorageClass: StorageStandard, CountType: CountSinceImagePushed, CountUnit: "days", CountNumber: 7, Action: ActionExpire},
				{Priority: 2, TagStatus: TagStatusTagged, TagPatternList: []string{"prod*", "*-rc*"}, StorageClass: StorageStandard, CountType: CountSinceImagePushed, CountUnit: "days", CountNumber: 14, Action: ActionExpire},
				{Priority: 10, TagStatus: TagStatusAny, StorageClass: StorageStandard, CountType: CountImageCountMoreThan, CountNumber: 5, Action: ActionExpire},
			},
		},
		{
			name: "archive grammar: transition by pull age, then expire from the archive",
			text: policy(
				`{"rulePriority":1,"description":"archive idle images","selection":{`+pulled30Any+`},"action":`+transition+`}`,
				rule(2, archived90, expire),
			),
			want: []Rule{
				{Priority: 1, Description: "archive idle images", TagStatus: TagStatusAny, StorageClass: StorageStandard, CountType: CountSinceImagePulled, CountUnit: "days", CountNumber: 30, Action: ActionTransition, TargetStorageClass: StorageArchive},
				{Priority: 2, TagStatus: TagStatusAny, StorageClass: StorageArchive, CountType: CountSinceImageTransitioned, CountUnit: "days", CountNumber: 90, Action: ActionExpire},
			},
		},
		{
			name: "an explicit standard class and four wildcards are fine",
			text: policy(rule(1, `"tagStatus":"tagged","storageClass":"standard","tagPatternList":["*test*1*2*3","test*1*2*3*"],"countType":"imageCountMoreThan","countNumber":2`, transition)),
			want: []Rule{
				{Priority: 1, TagStatus: TagStatusTagged, TagPatternList: []string{"*test*1*2*3", "test*1*2*3*"}, StorageClass: StorageStandard, CountType: CountImageCountMoreThan, CountNumber: 2, Action: ActionTransition, TargetStorageClass: StorageArchive},
			},
		},
		{
			name: "an empty list with untagged is ignored",
			text: policy(rule(1, `"tagStatus":"untagged","tagPrefixList":[],"countType":"imageCountMoreThan","countNumber":2`, expire)),
			want: []Rule{
				{Priority: 1, TagStatus: TagStatusUntagged, StorageClass: StorageStandard, CountType: CountImageCountMoreThan, CountNumber: 2, Action: ActionExpire},
			},
		},
		{
			name: "one untagged rule and one trailing any rule per storage class",
			text: policy(
				rule(1, untagged7, transition),
				rule(2, `"tagStatus":"untagged","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, expire),
				rule(3, anyCount, transition),
				rule(4, archived90, expire),
			),
			want: []Rule{
				{Priority: 1, TagStatus: TagStatusUntagged, StorageClass: StorageStandard, CountType: CountSinceImagePushed, CountUnit: "days", CountNumber: 7, Action: ActionTransition, TargetStorageClass: StorageArchive},
				{Priority: 2, TagStatus: TagStatusUntagged, StorageClass: StorageArchive, CountType: CountSinceImageTransitioned, CountUnit: "days", CountNumber: 90, Action: ActionExpire},
				{Priority: 3, TagStatus: TagStatusAny, StorageClass: StorageStandard, CountType: CountImageCountMoreThan, CountNumber: 5, Action: ActionTransition, TargetStorageClass: StorageArchive},
				{Priority: 4, TagStatus: TagStatusAny, StorageClass: StorageArchive, CountType: CountSinceImageTransitioned, CountUnit: "days", CountNumber: 90, Action: ActionExpire},
			},
		},
		{
			name: "the same prefixes in different storage classes",
			text: policy(
				rule(1, `"tagStatus":"tagged","tagPrefixList":["v"],"countType":"sinceImagePushed","countUnit":"days","countNumber":30`, transition),
				rule(2, `"tagStatus":"tagged","tagPrefixList":["v"],"storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, expire),
			),
			want: []Rule{
				{Priority: 1, TagStatus: TagStatusTagged, TagPrefixList: []string{"v"}, StorageClass: StorageStandard, CountType: CountSinceImagePushed, CountUnit: "days", CountNumber: 30, Action: ActionTransition, TargetStorageClass: StorageArchive},
				{Priority: 2, TagStatus: TagStatusTagged, TagPrefixList: []string{"v"}, StorageClass: StorageArchive, CountType: CountSinceImageTransitioned, CountUnit: "days", CountNumber: 90, Action: ActionExpire},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.text)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if !slices.EqualFunc(p.Rules, tt.want, rulesEqual) {
				t.Errorf("Parse() rules =\n%+v\nwant\n%+v", p.Rules, tt.want)
			}
		})
	}
}

func rulesEqual(a, b Rule) bool {
	return a.Priority == b.Priority && a.Description == b.Description && a.TagStatus == b.TagStatus &&
		slices.Equal(a.TagPrefixList, b.TagPrefixList) && slices.Equal(a.TagPatternList, b.TagPatternList) &&
		a.StorageClass == b.StorageClass && a.CountType == b.CountType && a.CountUnit == b.CountUnit &&
		a.CountNumber == b.CountNumber && a.Action == b.Action && a.TargetStorageClass == b.TargetStorageClass
}

func TestParseLengthBoundaries(t *testing.T) {
	valid := `{"rules":[` + rule(1, anyCount, expire) + `]}`
	tests := []struct {
		name     string
		text     string
		wantCode string // "" for success
	}{
		// The shortest valid policy is longer than the minimum, so the lower
		// bound shows in which check fails.
		{"99 units", "{" + strings.Repeat(" ", 98), CodeValidation},
		{"100 units", "{" + strings.Repeat(" ", 99), CodeInvalidParameter},
		// ECR counts UTF-16 units: 49 emoji are 98 units, 50 are 100.
		{"98 units of emoji", strings.Repeat("😀", 49), CodeValidation},
		{"100 units of emoji", strings.Repeat("😀", 50), CodeInvalidParameter},
		{"30720 units", valid + strings.Repeat(" ", MaxTextLength-utf16Len(valid)), ""},
		{"30721 units", valid + strings.Repeat(" ", MaxTextLength+1-utf16Len(valid)), CodeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.text)
			var e *Error
			switch {
			case tt.wantCode == "" && err != nil:
				t.Errorf("Validate(%d units) = %v, want success", utf16Len(tt.text), err)
			case tt.wantCode != "" && (!errors.As(err, &e) || e.Code != tt.wantCode):
				t.Errorf("Validate(%d units) = %v, want a %s", utf16Len(tt.text), err, tt.wantCode)
			}
		})
	}
}

func TestUTF16Len(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"é", 1},
		{"😀", 2},
		{"\xff", 1}, // invalid UTF-8 decodes to U+FFFD
	}
	for _, tt := range tests {
		if got := utf16Len(tt.in); got != tt.want {
			t.Errorf("utf16Len(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
