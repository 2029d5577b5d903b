package policy

import (
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Option tunes parsing.
type Option func(*options)

type options struct {
	limit       int
	countSpace  bool
	require2012 bool
}

// WithSizeLimit sets the size limit in characters. IAM quotas do not count
// whitespace (countWhitespace false); ECR's policyText constraint does.
// A limit <= 0 leaves only MaxDocumentBytes.
func WithSizeLimit(limit int, countWhitespace bool) Option {
	return func(o *options) { o.limit, o.countSpace = limit, countWhitespace }
}

// RequireVersion2012 rejects documents whose Version is absent or
// 2008-10-17, as IAM's CreatePolicy does.
func RequireVersion2012() Option {
	return func(o *options) { o.require2012 = true }
}

// ParseIdentityPolicy parses a policy attached to a user. By default the
// document may hold MaxManagedPolicySize non-whitespace characters.
func ParseIdentityPolicy(doc string, opts ...Option) (*Policy, error) {
	o := options{limit: MaxManagedPolicySize}
	for _, f := range opts {
		f(&o)
	}
	return parse(doc, KindIdentity, o)
}

// ParseResourcePolicy parses a policy attached to a resource, such as an ECR
// repository policy. By default the document may hold MaxRepositoryPolicySize
// characters, whitespace included.
func ParseResourcePolicy(doc string, opts ...Option) (*Policy, error) {
	o := options{limit: MaxRepositoryPolicySize, countSpace: true}
	for _, f := range opts {
		f(&o)
	}
	return parse(doc, KindResource, o)
}

// Element names are case-sensitive in IAM.
var (
	topElements       = []string{"Version", "Id", "Statement"}
	statementElements = []string{"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
		"Principal", "NotPrincipal", "Condition"}
)

// Partitions IAM accepts in a resource ARN.
var partitions = []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}

// rawStatement is a statement after the syntax pass: element values are
// typed, nothing is validated beyond shape.
type rawStatement struct {
	sid          string
	hasSid       bool
	effect       string
	actions      []string
	hasAction    bool
	notAction    bool
	resources    []string
	hasResource  bool
	notResource  bool
	principal    any
	hasPrincipal bool
	notPrincipal bool
	conds        []rawCondition
}

type rawCondition struct {
	op       string
	spec     opSpec
	set      setQual
	ifExists bool
	key      string
	values   []string
}

func parse(doc string, kind Kind, o options) (*Policy, error) {
	if err := checkSize(doc, o); err != nil {
		return nil, err
	}
	top, err := decode(doc)
	if err != nil {
		return nil, err
	}
	p := &Policy{kind: kind}
	stmts, err := syntaxPass(top, p)
	if err != nil {
		return nil, err
	}
	p.vars = p.version == Version2012
	if o.require2012 && !p.vars {
		return nil, malformed(msgVersion2012)
	}
	if err := semanticPass(stmts, kind); err != nil {
		return nil, err
	}
	p.statements = make([]statement, len(stmts))
	for i := range stmts {
		if err := compileStatement(&stmts[i], &p.statements[i], p.vars); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func checkSize(doc string, o options) error {
	if len(doc) > MaxDocumentBytes {
		limit := o.limit
		if limit <= 0 {
			limit = MaxDocumentBytes
		}
		return &SizeError{Limit: limit, Size: len(doc)}
	}
	if o.limit <= 0 {
		return nil
	}
	n := 0
	if o.countSpace {
		n = utf8.RuneCountInString(doc)
	} else {
		for _, r := range doc {
			if !unicode.IsSpace(r) {
				n++
			}
		}
	}
	if n > o.limit {
		return &SizeError{Limit: o.limit, Size: n}
	}
	return nil
}

// decode parses doc as exactly one JSON object.
func decode(doc string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, malformed(msgSyntax)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed(msgSyntax)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, malformed(msgSyntax)
	}
	return m, nil
}

// syntaxPass checks the shape of the document: element names, types, and
// the values IAM's grammar fixes (Version, Effect, condition operators).
func syntaxPass(top map[string]any, p *Policy) ([]rawStatement, error) {
	syntax := malformed(msgSyntax)
	for k := range top {
		if !slices.Contains(topElements, k) {
			return nil, syntax
		}
	}
	if v, ok := top["Version"]; ok {
		s, ok := v.(string)
		if !ok || (s != Version2012 && s != Version2008) {
			return nil, syntax
		}
		p.version = s
	}
	if v, ok := top["Id"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, syntax
		}
		p.id, p.hasID = s, true
	}
	var list []any
	switch s := top["Statement"].(type) {
	case map[string]any:
		list = []any{s}
	case []any:
		list = s
	default:
		return nil, syntax
	}
	if len(list) == 0 {
		return nil, syntax
	}
	stmts := make([]rawStatement, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, syntax
		}
		if err := syntaxStatement(m, &stmts[i]); err != nil {
			return nil, err
		}
	}
	return stmts, nil
}

func syntaxStatement(m map[string]any, st *rawStatement) error {
	syntax := malformed(msgSyntax)
	for k := range m {
		if !slices.Contains(statementElements, k) {
			return syntax
		}
	}
	if both(m, "Action", "NotAction") || both(m, "Resource", "NotResource") || both(m, "Principal", "NotPrincipal") {
		return syntax
	}
	if v, ok := m["Sid"]; ok {
		s, ok := v.(string)
		if !ok {
			return syntax
		}
		st.sid, st.hasSid = s, true
	}
	e, ok := m["Effect"].(string)
	if !ok || (!strings.EqualFold(e, "Allow") && !strings.EqualFold(e, "Deny")) {
		return syntax
	}
	st.effect = e
	var err error
	if st.actions, st.hasAction, st.notAction, err = stringsElement(m, "Action", "NotAction"); err != nil {
		return err
	}
	if st.resources, st.hasResource, st.notResource, err = stringsElement(m, "Resource", "NotResource"); err != nil {
		return err
	}
	for _, name := range []string{"Principal", "NotPrincipal"} {
		if v, ok := m[name]; ok {
			st.principal, st.hasPrincipal, st.notPrincipal = v, true, name == "NotPrincipal"
		}
	}
	if v, ok := m["Condition"]; ok {
		conds, err := syntaxConditions(v)
		if err != nil {
			return err
		}
		st.conds = conds
	}
	return nil
}

func both(m map[string]any, a, b string) bool {
	_, okA := m[a]
	_, okB := m[b]
	return okA && okB
}

// stringsElement reads an element that is a string or an array of strings.
func stringsElement(m map[string]any, name, notName string) ([]string, bool, bool, error) {
	v, ok := m[name]
	not := false
	if !ok {
		if v, ok = m[notName]; !ok {
			return nil, false, false, nil
		}
		not = true
	}
	ss, ok := stringList(v)
	if !ok {
		return nil, false, false, malformed(msgSyntax)
	}
	return ss, true, not, nil
}

func stringList(v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, len(t))
		for i, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// conditionScalar renders a condition value: strings as is, numbers as
// written, booleans as "true"/"false".
func conditionScalar(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		if t {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

func syntaxConditions(v any) ([]rawCondition, error) {
	syntax := malformed(msgSyntax)
	ops, ok := v.(map[string]any)
	if !ok {
		return nil, syntax
	}
	// Sorted so that errors and evaluation order do not depend on map order.
	names := make([]string, 0, len(ops))
	for k := range ops {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []rawCondition
	for _, op := range names {
		block, ok := ops[op].(map[string]any)
		if !ok {
			return nil, syntax
		}
		spec, set, ifExists, ok := parseOperator(op)
		if !ok {
			return nil, syntax
		}
		keys := make([]string, 0, len(block))
		for k := range block {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			var vals []string
			switch t := block[k].(type) {
			case []any:
				vals = make([]string, len(t))
				for i, x := range t {
					if vals[i], ok = conditionScalar(x); !ok {
						return nil, syntax
					}
				}
			default:
				s, ok := conditionScalar(t)
				if !ok {
					return nil, syntax
				}
				vals = []string{s}
			}
			out = append(out, rawCondition{op: op, spec: spec, set: set, ifExists: ifExists, key: k, values: vals})
		}
	}
	return out, nil
}

// semanticPass applies IAM's validation rules in IAM's order, so a document
// with several faults gets the message IAM would give.
func semanticPass(stmts []rawStatement, kind Kind) error {
	// Legacy parsing: exact-case Effect, parsable dates, ARN shape.
	for i := range stmts {
		st := &stmts[i]
		if st.effect != "Allow" && st.effect != "Deny" {
			return malformed(msgLegacy)
		}
		for _, c := range st.conds {
			if c.spec.fam != famDate {
				continue
			}
			for _, v := range c.values {
				if _, ok := parseDate(v); !ok {
					return malformed(msgLegacy)
				}
			}
		}
		for _, r := range st.resources {
			if r != "*" && strings.Contains(r, "::") && strings.Count(r, ":") < 5 {
				return malformed(msgLegacy)
			}
		}
	}
	sids := make(map[string]struct{}, len(stmts))
	for i := range stmts {
		if sid := stmts[i].sid; sid != "" {
			if _, dup := sids[sid]; dup {
				return malformed(msgSidUnique)
			}
			sids[sid] = struct{}{}
		}
	}
	for i := range stmts {
		if !stmts[i].hasAction || len(stmts[i].actions) == 0 {
			return malformed(msgNoActions)
		}
	}
	for i := range stmts {
		for _, r := range stmts[i].resources {
			if err := checkResource(r); err != nil {
				return err
			}
		}
	}
	for i := range stmts {
		for _, a := range stmts[i].actions {
			if err := checkAction(a); err != nil {
				return err
			}
		}
		for _, c := range stmts[i].conds {
			if !strings.Contains(c.key, ":") {
				return malformed(msgVendor)
			}
		}
	}
	for i := range stmts {
		st := &stmts[i]
		switch kind {
		case KindIdentity:
			if !st.hasResource || len(st.resources) == 0 {
				return malformed(msgNoResources)
			}
			if st.hasPrincipal {
				return malformed(msgNoPrincipal)
			}
			if !sidAlnum(st.sid) {
				return malformed(msgSidAlnum)
			}
		case KindResource:
			if !st.hasPrincipal {
				return malformed(msgMissingPrincipal)
			}
			if st.hasResource && len(st.resources) == 0 {
				return malformed(msgNoResources)
			}
		}
	}
	return nil
}

func sidAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// checkAction validates "*" or "vendor:action".
func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	vendor, _, ok := strings.Cut(a, ":")
	if !ok {
		return malformed(msgVendor)
	}
	if strings.Count(a, ":") > 1 {
		return malformed(msgOneColon)
	}
	if vendor == "*" {
		return nil
	}
	for i := 0; i < len(vendor); i++ {
		c := vendor[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '.') {
			return malformedf("Vendor %s is not valid", vendor)
		}
	}
	return nil
}

// checkResource validates "*" or an ARN.
func checkResource(r string) error {
	if r == "*" {
		return nil
	}
	prefix, rest, ok := strings.Cut(r, ":")
	if !ok || prefix != "arn" {
		return malformedf("Resource %s must be in ARN format or \"*\".", r)
	}
	partition, rest, ok := strings.Cut(rest, ":")
	if partition != "*" && !slices.Contains(partitions, partition) {
		return malformedf("Partition %q is not valid for resource %q.", partition, r)
	}
	if !ok || rest == "" {
		return malformed(msgResourceQualified)
	}
	return nil
}
