// Package lifecycle implements ECR lifecycle policies: the policy grammar
// (parse and validate, with ECR's error wording), the evaluation of a policy
// against the images of one repository, and the preview output.
//
// The package does no I/O. The ECR adapter parses policy texts with Parse,
// and a worker feeds Evaluate a snapshot of a repository's images and acts on
// the results.
package lifecycle

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Limits of the policy grammar.
const (
	MinTextLength = 100   // UTF-16 code units, as ECR counts
	MaxTextLength = 30720 // UTF-16 code units
	MaxRules      = 50
	MaxWildcards  = 4 // '*' per tagPatternList entry
)

// TagStatus selects images by whether they carry tags.
type TagStatus string

// Tag statuses of the grammar.
const (
	TagStatusTagged   TagStatus = "tagged"
	TagStatusUntagged TagStatus = "untagged"
	TagStatusAny      TagStatus = "any"
)

// CountType is the criterion a rule applies to the images it selects.
type CountType string

// Count types of the grammar.
const (
	CountImageCountMoreThan     CountType = "imageCountMoreThan"
	CountSinceImagePushed       CountType = "sinceImagePushed"
	CountSinceImagePulled       CountType = "sinceImagePulled"
	CountSinceImageTransitioned CountType = "sinceImageTransitioned"
)

// CountUnitDays is the only count unit, used by the since* count types.
const CountUnitDays = "days"

// ActionType is what a rule does to the images it selects.
type ActionType string

// Action types of the grammar.
const (
	ActionExpire     ActionType = "expire"
	ActionTransition ActionType = "transition"
)

// StorageClass is a storage class as the policy grammar spells it.
type StorageClass string

// Storage classes of the grammar.
const (
	StorageStandard StorageClass = "standard"
	StorageArchive  StorageClass = "archive"
)

// Rule is one validated rule of a policy.
type Rule struct {
	Priority    int
	Description string

	TagStatus      TagStatus
	TagPrefixList  []string // only with TagStatusTagged; every entry must match some tag
	TagPatternList []string // only with TagStatusTagged; every entry must match some tag
	// StorageClass is the class of images the rule selects: StorageStandard
	// unless the policy says archive (required by sinceImageTransitioned).
	StorageClass StorageClass
	CountType    CountType
	CountUnit    string // CountUnitDays for the since* types, else empty
	CountNumber  int

	Action ActionType
	// TargetStorageClass is StorageArchive for ActionTransition, else empty.
	TargetStorageClass StorageClass
}

// Policy is a validated lifecycle policy. Rules are sorted by Priority,
// lowest (applied first) to highest.
type Policy struct {
	Rules []Rule
}

// Validate reports whether text is a valid lifecycle policy; the error is an
// *Error.
func Validate(text string) error {
	_, err := Parse(text)
	return err
}

// Parse parses and validates a lifecycle policy text as ECR does. Every
// failure is an *Error carrying ECR's exception name and message.
func Parse(text string) (*Policy, error) {
	switch n := utf16Len(text); {
	case n < MinTextLength:
		return nil, lengthError("Member must have length greater than or equal to " + strconv.Itoa(MinTextLength))
	case n > MaxTextLength:
		return nil, lengthError("Member must have length less than or equal to " + strconv.Itoa(MaxTextLength))
	}
	doc, err := decodeJSON(text)
	if err != nil {
		return nil, invalidf("Could not map policyString into LifecyclePolicy.")
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, invalidf("Could not map policyString into LifecyclePolicy.")
	}
	if e := checkProperties(top, []string{"rules"}, []string{"rules"}); e != nil {
		return nil, e
	}
	rawRules, ok := top["rules"].([]any)
	if !ok {
		// ECR (and moto) answer a non-list "rules" as a missing one.
		return nil, invalidf(`object has missing required properties (["rules"])`)
	}
	switch n := len(rawRules); {
	case n == 0:
		return nil, invalidf("array is too short: must have at least 1 elements but instance has 0 elements")
	case n > MaxRules:
		return nil, invalidf("array is too long: must have at most %d elements but instance has %d elements", MaxRules, n)
	}

	p := &Policy{Rules: make([]Rule, 0, len(rawRules))}
	for _, raw := range rawRules {
		r, e := parseRule(raw)
		if e != nil {
			return nil, e
		}
		p.Rules = append(p.Rules, r)
	}
	for i := range p.Rules {
		if e := checkRule(&p.Rules[i]); e != nil {
			return nil, e
		}
	}
	if e := checkRuleSet(p.Rules); e != nil {
		return nil, e
	}
	slices.SortFunc(p.Rules, func(a, b Rule) int { return a.Priority - b.Priority })
	return p, nil
}

// decodeJSON decodes exactly one JSON value, keeping numbers exact so that the
// integer checks see what the client sent.
func decodeJSON(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the policy object")
	}
	return v, nil
}

var (
	ruleRequired      = []string{"action", "rulePriority", "selection"}
	ruleAllowed       = []string{"action", "description", "rulePriority", "selection"}
	actionRequired    = []string{"type"}
	actionAllowed     = []string{"targetStorageClass", "type"}
	selectionRequired = []string{"countNumber", "countType", "tagStatus"}
	selectionAllowed  = []string{"countNumber", "countType", "countUnit", "storageClass", "tagPatternList", "tagPrefixList", "tagStatus"}

	tagStatusValues          = []string{"any", "tagged", "untagged"}
	countTypeValues          = []string{"imageCountMoreThan", "sinceImagePulled", "sinceImagePushed", "sinceImageTransitioned"}
	countUnitValues          = []string{"days"}
	actionTypeValues         = []string{"expire", "transition"}
	storageClassValues       = []string{"archive", "standard"}
	targetStorageClassValues = []string{"archive"}
)

// parseRule checks one rule against the policy schema and converts it.
func parseRule(raw any) (Rule, *Error) {
	var r Rule
	obj, e := object(raw)
	if e != nil {
		return r, e
	}
	if e := checkProperties(obj, ruleRequired, ruleAllowed); e != nil {
		return r, e
	}
	if r.Priority, e = integer(obj["rulePriority"], 1); e != nil {
		return r, e
	}
	if d, ok := obj["description"]; ok {
		s, ok := d.(string)
		if !ok {
			return r, typeError(d, "string")
		}
		r.Description = s
	}

	action, e := object(obj["action"])
	if e != nil {
		return r, e
	}
	if e := checkProperties(action, actionRequired, actionAllowed); e != nil {
		return r, e
	}
	t, e := enum(action["type"], actionTypeValues)
	if e != nil {
		return r, e
	}
	r.Action = ActionType(t)
	if v, ok := action["targetStorageClass"]; ok {
		s, e := enum(v, targetStorageClassValues)
		if e != nil {
			return r, e
		}
		r.TargetStorageClass = StorageClass(s)
	}

	sel, e := object(obj["selection"])
	if e != nil {
		return r, e
	}
	if e := checkProperties(sel, selectionRequired, selectionAllowed); e != nil {
		return r, e
	}
	s, e := enum(sel["tagStatus"], tagStatusValues)
	if e != nil {
		return r, e
	}
	r.TagStatus = TagStatus(s)
	if s, e = enum(sel["countType"], countTypeValues); e != nil {
		// The schema picks the count branch by countType, so an unknown one
		// matches no branch.
		return r, invalidf("instance failed to match exactly one schema (matched 0 out of 2)")
	}
	r.CountType = CountType(s)
	if v, ok := sel["countUnit"]; ok {
		if s, e = enum(v, countUnitValues); e != nil {
			return r, e
		}
		r.CountUnit = s
	}
	if r.CountNumber, e = integer(sel["countNumber"], 1); e != nil {
		return r, e
	}
	r.StorageClass = StorageStandard
	if v, ok := sel["storageClass"]; ok {
		if s, e = enum(v, storageClassValues); e != nil {
			return r, e
		}
		r.StorageClass = StorageClass(s)
	}
	if v, ok := sel["tagPrefixList"]; ok {
		if r.TagPrefixList, e = stringList(v); e != nil {
			return r, e
		}
	}
	if v, ok := sel["tagPatternList"]; ok {
		if r.TagPatternList, e = stringList(v); e != nil {
			return r, e
		}
	}
	return r, nil
}

// oneOfFailure is the schema's answer when countType and countUnit do not fit
// together (the count fields are a oneOf of "count" and "age" branches).
const oneOfFailure = "instance failed to match exactly one schema (matched 0 out of 2)"

// checkRule enforces the constraints within one rule that the schema's shape
// does not express.
func checkRule(r *Rule) *Error {
	if r.CountType == CountImageCountMoreThan {
		if r.CountUnit != "" {
			return invalidf(oneOfFailure)
		}
	} else if r.CountUnit == "" {
		return invalidf(oneOfFailure)
	}

	switch r.TagStatus {
	case TagStatusTagged:
		switch {
		case len(r.TagPrefixList) > 0 && len(r.TagPatternList) > 0:
			return invalidf("tagPrefixList and tagPatternList cannot both be specified in a rule")
		case len(r.TagPrefixList) == 0 && len(r.TagPatternList) == 0:
			return invalidf("tagPrefixList or tagPatternList is required for a rule with tagStatus=TAGGED")
		}
		for _, p := range r.TagPatternList {
			if strings.Count(p, "*") > MaxWildcards {
				return invalidf("tagPatternList entry %q has more than %d wildcards", p, MaxWildcards)
			}
		}
	default:
		if len(r.TagPrefixList) > 0 || len(r.TagPatternList) > 0 {
			return invalidf("tagPrefixList and tagPatternList can only be used with tagStatus=TAGGED")
		}
		// An empty list given with untagged/any selects nothing extra; drop it
		// so that evaluation needs no special case.
		r.TagPrefixList, r.TagPatternList = nil, nil
	}

	if r.CountType == CountSinceImageTransitioned {
		if r.StorageClass != StorageArchive {
			return invalidf("storageClass archive is required for countType sinceImageTransitioned")
		}
	} else if r.StorageClass == StorageArchive {
		return invalidf("storageClass archive can only be used with countType sinceImageTransitioned")
	}

	switch r.Action {
	case ActionTransition:
		if r.TargetStorageClass == "" {
			return invalidf("targetStorageClass is required for action type transition")
		}
		if r.StorageClass == StorageArchive {
			return invalidf("Images in storage class archive can only be expired")
		}
	case ActionExpire:
		if r.TargetStorageClass != "" {
			return invalidf("targetStorageClass can only be used with action type transition")
		}
		// ECR archives by pull time but never deletes by it: deleting goes
		// through the archive (sinceImageTransitioned).
		if r.CountType == CountSinceImagePulled {
			return invalidf("countType sinceImagePulled can only be used with action type transition")
		}
	}
	return nil
}

// checkRuleSet enforces the constraints between rules.
func checkRuleSet(rules []Rule) *Error {
	seen := make(map[int]bool, len(rules))
	for _, r := range rules {
		if seen[r.Priority] {
			return invalidf("Rule priorities must be unique.")
		}
		seen[r.Priority] = true
	}
	for _, class := range []StorageClass{StorageStandard, StorageArchive} {
		var untagged, anyRules int
		highest, anyPriority := 0, 0
		selections := make(map[string]bool)
		for _, r := range rules {
			if r.StorageClass != class {
				continue
			}
			highest = max(highest, r.Priority)
			switch r.TagStatus {
			case TagStatusUntagged:
				untagged++
			case TagStatusAny:
				anyRules++
				anyPriority = r.Priority
			case TagStatusTagged:
				// Two rules with the same tag filter in one class: the second
				// could never act (the first claims every image it matches).
				key := tagFilterKey(r)
				if selections[key] {
					return invalidf("The set of all rules selecting a specific storage class must contain a unique set of prefixes.")
				}
				selections[key] = true
			}
		}
		if untagged > 1 {
			return invalidf("Only one rule can select Untagged images per storage class.")
		}
		if anyRules > 1 || (anyRules == 1 && anyPriority != highest) {
			return invalidf("Rule for tagStatus=ANY must have the lowest priority per storage class")
		}
	}
	return nil
}

// tagFilterKey identifies a tagged rule's tag filter, independent of the
// order of its list.
func tagFilterKey(r Rule) string {
	kind, list := "prefix", r.TagPrefixList
	if len(r.TagPatternList) > 0 {
		kind, list = "pattern", r.TagPatternList
	}
	list = slices.Clone(list)
	slices.Sort(list)
	list = slices.Compact(list)
	return kind + "\x00" + strings.Join(list, "\x00")
}

// Schema helpers. Their wording follows the JSON schema validator ECR runs
// (as recorded by moto).

func object(v any) (map[string]any, *Error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, typeError(v, "object")
	}
	return m, nil
}

func checkProperties(obj map[string]any, required, allowed []string) *Error {
	var missing []string
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return invalidf("object has missing required properties (%s)", jsonList(missing))
	}
	var extra []string
	for k := range obj {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return invalidf("object instance has properties which are not allowed by the schema: (%s)", jsonList(extra))
	}
	return nil
}

func enum(v any, values []string) (string, *Error) {
	s, ok := v.(string)
	if !ok {
		return "", typeError(v, "string")
	}
	if !slices.Contains(values, s) {
		return "", invalidf("instance value (%s) not found in enum :(possible values: %s)", s, jsonList(values))
	}
	return s, nil
}

// integer accepts a JSON integer within int32, the type ECR maps it to.
func integer(v any, minimum int) (int, *Error) {
	if jsonType(v) != "integer" {
		return 0, typeError(v, "integer")
	}
	n, err := strconv.ParseInt(string(v.(json.Number)), 10, 64)
	if err != nil || n > math.MaxInt32 || n < math.MinInt32 {
		return 0, invalidf("Could not map policyString into LifecyclePolicy.")
	}
	if n < int64(minimum) {
		return 0, invalidf("numeric instance is lower than the required minimum (minimum: %d, found: %d)", minimum, n)
	}
	return int(n), nil
}

func stringList(v any) ([]string, *Error) {
	items, ok := v.([]any)
	if !ok {
		return nil, typeError(v, "array")
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, typeError(it, "string")
		}
		out = append(out, s)
	}
	return out, nil
}

func typeError(v any, want string) *Error {
	return invalidf(`instance type (%s) does not match any allowed primitive type (allowed: ["%s"])`, jsonType(v), want)
}

// jsonType names the JSON type of a decoded value as JSON schema does.
func jsonType(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return "number"
		}
		return "integer"
	default:
		return "null"
	}
}

// jsonList formats names the way the validator lists them: ["a", "b"].
func jsonList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		b, _ := json.Marshal(n) // a string always marshals
		quoted[i] = string(b)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// utf16Len counts UTF-16 code units, the length ECR's request model checks.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
