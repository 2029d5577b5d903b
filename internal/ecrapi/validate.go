package ecrapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxViolations bounds the work and the message for a hostile body.
const maxViolations = 10

// Violation is one failed model constraint.
type Violation struct {
	// Path names the value as AWS does: "repositoryName",
	// "imageIds.1.member.imageTag" (list positions count from 1).
	Path string
	// Value is the offending decoded JSON value (nil for a missing one).
	Value any
	// Constraint is AWS's wording, e.g. "Member must not be null".
	Constraint string
}

// ValidationError reports request values that break the model's constraints.
// ECR reports them as InvalidParameterException naming the first one.
type ValidationError struct {
	Violations []Violation
}

// Error returns ECR's wording for the first violation:
// Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'.
func (e *ValidationError) Error() string {
	if len(e.Violations) == 0 {
		return "Invalid parameter"
	}
	v := e.Violations[0]
	return fmt.Sprintf("Invalid parameter at '%s' failed to satisfy constraint: '%s'", v.Path, v.Constraint)
}

// invalidParam is ECR's InvalidParameterException for one parameter, in
// the wording of a validation failure.
func invalidParam(path, constraint string) *APIError {
	return Errorf(CodeInvalidParameter, "%s", (&ValidationError{Violations: []Violation{{Path: path, Constraint: constraint}}}).Error())
}

// CoralMessage returns the generic AWS serialization-validation wording that
// lists every violation, as many AWS JSON services (not ECR) word it:
// 1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1.
func (e *ValidationError) CoralMessage() string {
	var b strings.Builder
	n := len(e.Violations)
	if n == 1 {
		b.WriteString("1 validation error detected: ")
	} else {
		fmt.Fprintf(&b, "%d validation errors detected: ", n)
	}
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "Value %s at '%s' failed to satisfy constraint: %s", formatValue(v.Value), v.Path, v.Constraint)
	}
	return b.String()
}

// APIError returns the wire error: InvalidParameterException, HTTP 400.
func (e *ValidationError) APIError() *APIError {
	return &APIError{Code: CodeInvalidParameter, Message: e.Error(), Status: 400}
}

// Validate checks a request body for operation against the ECR model.
// body is raw JSON (json.RawMessage or []byte) or an already decoded
// map[string]any (numbers as json.Number or float64). It returns nil, a
// *ValidationError for constraint violations, or an *APIError
// (SerializationException or UnknownOperationException) when the body is not
// JSON of the right shape or the operation is unknown. Unknown members are
// ignored, as AWS does.
func Validate(operation string, body any) error {
	op, ok := operations[operation]
	if !ok {
		return unknownOperation(operation)
	}
	var params map[string]any
	switch b := body.(type) {
	case json.RawMessage:
		p, err := decodeParams(b)
		if err != nil {
			return err
		}
		params = p
	case []byte:
		p, err := decodeParams(b)
		if err != nil {
			return err
		}
		params = p
	case map[string]any:
		params = b
	case nil:
		params = map[string]any{}
	default:
		return fmt.Errorf("ecrapi: Validate: unsupported body type %T", body)
	}
	_, err := validateParams(op, params, false)
	return err
}

// validateParams validates params for op. With prune set it also deletes
// members the model does not define, in place, and reports whether it did.
func validateParams(op *Operation, params map[string]any, prune bool) (pruned bool, err error) {
	if op.input == noShape {
		return false, nil
	}
	v := validator{prune: prune}
	v.value("", &shapes[op.input], params)
	if v.serr != nil {
		return v.pruned, v.serr
	}
	if len(v.violations) > 0 {
		return v.pruned, &ValidationError{Violations: v.violations}
	}
	return v.pruned, nil
}

type validator struct {
	violations []Violation
	serr       *APIError // first type mismatch; stops validation
	// prune deletes unknown structure members. encoding/json matches member
	// names case-insensitively, so an unknown "RepositoryName" would
	// otherwise reach a typed input's repositoryName without validation.
	prune, pruned bool
}

func (v *validator) add(path string, val any, format string, args ...any) {
	if len(v.violations) < maxViolations {
		v.violations = append(v.violations, Violation{Path: path, Value: val, Constraint: fmt.Sprintf(format, args...)})
	}
}

func (v *validator) done() bool {
	return v.serr != nil || len(v.violations) >= maxViolations
}

// mismatch records that a value has the wrong JSON type, which AWS reports
// as a SerializationException rather than a validation error.
func (v *validator) mismatch(path string, val any, want string) {
	if v.serr == nil {
		v.serr = serializationError(fmt.Sprintf("%s can not be converted to %s at '%s'", jsonKind(val), want, path))
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (v *validator) value(path string, s *shape, val any) {
	if v.done() {
		return
	}
	switch s.Type {
	case TypeStructure:
		obj, ok := val.(map[string]any)
		if !ok {
			v.mismatch(path, val, "a structure")
			return
		}
		for _, m := range s.Members {
			mv, present := obj[m.Name]
			if !present || mv == nil { // AWS treats JSON null as absent
				if m.Required {
					v.add(join(path, m.Name), nil, "Member must not be null")
				}
				continue
			}
			v.value(join(path, m.Name), &shapes[m.Shape], mv)
		}
		if v.prune {
			for k := range obj {
				if !s.hasMember(k) {
					delete(obj, k)
					v.pruned = true
				}
			}
		}
	case TypeList:
		list, ok := val.([]any)
		if !ok {
			v.mismatch(path, val, "a list")
			return
		}
		v.length(path, s, val, int64(len(list)))
		for i, e := range list {
			p := path + "." + strconv.Itoa(i+1) + ".member"
			if e == nil {
				v.add(p, nil, "Member must not be null")
				continue
			}
			v.value(p, &shapes[s.Elem], e)
		}
	case TypeMap:
		obj, ok := val.(map[string]any)
		if !ok {
			v.mismatch(path, val, "a map")
			return
		}
		v.length(path, s, val, int64(len(obj)))
		for _, k := range sortedKeys(obj) {
			v.value(path, &shapes[s.Key], k)
			p := join(path, k)
			if obj[k] == nil {
				v.add(p, nil, "Member must not be null")
				continue
			}
			v.value(p, &shapes[s.Elem], obj[k])
		}
	case TypeString:
		str, ok := val.(string)
		if !ok {
			v.mismatch(path, val, "a String")
			return
		}
		v.length(path, s, val, utf16Len(str))
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			v.add(path, val, "Member must satisfy enum value set: [%s]", strings.Join(s.Enum, ", "))
		}
		if s.Pattern != nil && !s.Pattern.MatchString(str) {
			v.add(path, val, "Member must satisfy regular expression pattern: %s", s.PatternSource)
		}
	case TypeBlob:
		str, ok := val.(string)
		if !ok {
			v.mismatch(path, val, "a Blob")
			return
		}
		// Length of the decoded bytes, computed without decoding a
		// possibly 20 MiB blob twice; Request.Decode rejects bad base64.
		v.length(path, s, val, int64(base64DecodedLen(str)))
	case TypeInteger, TypeLong:
		n, ok := v.integer(path, val, s.Type == TypeInteger)
		if ok {
			v.numRange(path, s, val, n)
		}
	case TypeFloat, TypeDouble:
		if _, ok := toFloat(val); !ok {
			v.mismatch(path, val, "a Double")
		}
	case TypeBoolean:
		if _, ok := val.(bool); !ok {
			v.mismatch(path, val, "a Boolean")
		}
	case TypeTimestamp:
		// The JSON protocol sends epoch seconds.
		if _, ok := toFloat(val); !ok {
			v.mismatch(path, val, "a Timestamp")
		}
	}
}

func (v *validator) length(path string, s *shape, val any, n int64) {
	if s.HasMin && n < s.Min {
		v.add(path, val, "Member must have length greater than or equal to %d", s.Min)
	}
	if s.HasMax && n > s.Max {
		v.add(path, val, "Member must have length less than or equal to %d", s.Max)
	}
}

func (v *validator) numRange(path string, s *shape, val any, n int64) {
	if s.HasMin && n < s.Min {
		v.add(path, val, "Member must have value greater than or equal to %d", s.Min)
	}
	if s.HasMax && n > s.Max {
		v.add(path, val, "Member must have value less than or equal to %d", s.Max)
	}
}

// integer converts a decoded JSON number to int64, enforcing int32 range
// for "integer" shapes.
func (v *validator) integer(path string, val any, int32Only bool) (int64, bool) {
	want := "a Long"
	if int32Only {
		want = "an Integer"
	}
	var n int64
	switch x := val.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil {
			v.mismatch(path, val, want)
			return 0, false
		}
		n = i
	case float64:
		if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
			v.mismatch(path, val, want)
			return 0, false
		}
		n = int64(x)
	default:
		v.mismatch(path, val, want)
		return 0, false
	}
	if int32Only && (n < math.MinInt32 || n > math.MaxInt32) {
		v.mismatch(path, val, want)
		return 0, false
	}
	return n, true
}

func toFloat(val any) (float64, bool) {
	switch x := val.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

// utf16Len counts UTF-16 code units, the length AWS's Java services check.
func utf16Len(s string) int64 {
	var n int64
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// base64DecodedLen is the decoded size of standard, padded base64 text.
func base64DecodedLen(s string) int {
	n := len(s) / 4 * 3
	if rem := len(s) % 4; rem > 1 {
		n += rem - 1 // tolerate missing padding
	}
	if strings.HasSuffix(s, "==") {
		n -= 2
	} else if strings.HasSuffix(s, "=") {
		n--
	}
	return max(n, 0)
}

func (s *shape) hasMember(name string) bool {
	for _, m := range s.Members {
		if m.Name == name {
			return true
		}
	}
	return false
}

// sortedKeys gives map members a deterministic violation order.
func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

func jsonKind(val any) string {
	switch val.(type) {
	case nil:
		return "NULL_VALUE"
	case string:
		return "STRING_VALUE"
	case json.Number, float64:
		return "NUMBER_VALUE"
	case bool:
		return "BOOLEAN_VALUE"
	case []any:
		return "START_ARRAY"
	case map[string]any:
		return "START_OBJECT"
	}
	return "VALUE"
}

// formatValue renders a value the way AWS's validation messages quote it.
func formatValue(val any) string {
	if val == nil {
		return "null"
	}
	s := plainValue(val)
	const maxLen = 256
	if len(s) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return "'" + s + "'"
}

func plainValue(val any) string {
	switch x := val.(type) {
	case nil:
		return "null"
	case string:
		return x
	case json.Number:
		return string(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, plainValue(e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, k+"="+plainValue(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(val)
}
