package policy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// family groups condition operators that compare values the same way.
type family uint8

const (
	famString     family = iota + 1 // StringEquals: exact, case-sensitive
	famStringFold                   // StringEqualsIgnoreCase
	famStringLike                   // StringLike: * and ? wildcards
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famArn // ArnEquals and ArnLike: both match per ARN component with wildcards
	famNull
)

// cmpOp is the comparison of Numeric and Date operators.
type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type opSpec struct {
	fam    family
	cmp    cmpOp
	negate bool
}

var operators = map[string]opSpec{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negate: true},
	"StringEqualsIgnoreCase":    {fam: famStringFold},
	"StringNotEqualsIgnoreCase": {fam: famStringFold, negate: true},
	"StringLike":                {fam: famStringLike},
	"StringNotLike":             {fam: famStringLike, negate: true},
	"NumericEquals":             {fam: famNumeric},
	"NumericNotEquals":          {fam: famNumeric, negate: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLt},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLe},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGe},
	"DateEquals":                {fam: famDate},
	"DateNotEquals":             {fam: famDate, negate: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLt},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLe},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGt},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGe},
	"Bool":                      {fam: famBool},
	"BinaryEquals":              {fam: famBinary},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negate: true},
	"ArnEquals":                 {fam: famArn},
	"ArnLike":                   {fam: famArn},
	"ArnNotEquals":              {fam: famArn, negate: true},
	"ArnNotLike":                {fam: famArn, negate: true},
	"Null":                      {fam: famNull},
}

// setQual is a ForAnyValue: / ForAllValues: qualifier.
type setQual uint8

const (
	setNone setQual = iota
	setAny
	setAll
)

// parseOperator splits a condition operator into qualifier, base operator
// and IfExists. Null takes neither a qualifier nor IfExists.
func parseOperator(name string) (opSpec, setQual, bool, bool) {
	base, set := name, setNone
	switch {
	case strings.HasPrefix(base, "ForAnyValue:"):
		base, set = base[len("ForAnyValue:"):], setAny
	case strings.HasPrefix(base, "ForAllValues:"):
		base, set = base[len("ForAllValues:"):], setAll
	}
	ifExists := false
	if b, ok := strings.CutSuffix(base, "IfExists"); ok {
		base, ifExists = b, true
	}
	spec, ok := operators[base]
	if !ok || (spec.fam == famNull && (set != setNone || ifExists)) {
		return opSpec{}, 0, false, false
	}
	return spec, set, ifExists, true
}

// condValue is one compiled policy value of a condition.
type condValue struct {
	pat  pattern   // string families; also Bool and Binary (literal)
	arn  []pattern // famArn: the six ARN components; nil if the value is not an ARN
	num  float64
	t    time.Time
	pfx  netip.Prefix
	ok   bool // num, t, pfx or the Null flag parsed
	null bool // famNull: true means "key must be absent"
}

// condition is one (operator, key) pair with its values: the values are
// ORed, conditions are ANDed.
type condition struct {
	op       string // as written, for re-serialization
	spec     opSpec
	set      setQual
	ifExists bool
	key      condKey
	raw      []string
	values   []condValue
	vars     bool // some value holds a policy variable
}

func compileCondition(op string, spec opSpec, set setQual, ifExists bool, key string, raw []string, vars bool) (condition, error) {
	c := condition{op: op, spec: spec, set: set, ifExists: ifExists, key: newCondKey(key), raw: raw}
	c.values = make([]condValue, len(raw))
	for i, r := range raw {
		v := &c.values[i]
		switch spec.fam {
		case famString:
			v.pat = compilePattern(r, false, vars, false)
		case famStringFold:
			v.pat = compilePattern(r, false, vars, true)
		case famStringLike:
			v.pat = compilePattern(r, true, vars, false)
		case famArn:
			v.arn = compileArn(r, vars)
			for j := range v.arn {
				c.vars = c.vars || v.arn[j].vars
			}
		case famBool:
			v.pat = compilePattern(strings.ToLower(r), false, false, true)
		case famBinary:
			v.pat = compilePattern(r, false, false, false)
		case famNumeric:
			// An unparsable number never matches; IAM does not reject it.
			f, err := strconv.ParseFloat(r, 64)
			v.num, v.ok = f, err == nil
		case famDate:
			t, ok := parseDate(r)
			if !ok {
				return condition{}, malformed(msgLegacy)
			}
			v.t, v.ok = t, true
		case famIP:
			v.pfx, v.ok = parsePrefix(r)
		case famNull:
			switch strings.ToLower(r) {
			case "true":
				v.null, v.ok = true, true
			case "false":
				v.ok = true
			}
		}
		c.vars = c.vars || v.pat.vars
	}
	return c, nil
}

// compileArn splits an ARN pattern into its six components: arn, partition,
// service, region, account and resource (which may itself hold colons).
func compileArn(r string, vars bool) []pattern {
	var parts [6]string
	rest := r
	for i := 0; i < 5; i++ {
		j := componentEnd(rest, vars)
		if j < 0 {
			return nil
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	parts[5] = rest
	ps := make([]pattern, 6)
	for i, p := range parts {
		ps[i] = compilePattern(p, true, vars, false)
	}
	return ps
}

// componentEnd returns the index of the first colon of s that is not inside
// a policy variable such as ${aws:username}, or -1.
func componentEnd(s string, vars bool) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == ':':
			return i
		case vars && s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			if end := strings.IndexByte(s[i:], '}'); end > 0 {
				i += end
			}
		}
	}
	return -1
}

// parsePrefix parses a CIDR block or a bare address (a /32 or /128).
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseDate parses an ISO 8601 date-time (zone-less means UTC) or epoch
// seconds.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(n, 0), true
	}
	if strings.ContainsAny(s, "tz") {
		s = strings.ToUpper(s)
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// eval evaluates the condition against the request.
func (c *condition) eval(e *evaluator) bool {
	v, present := e.lookup(&c.key)
	if c.spec.fam == famNull {
		for i := range c.values {
			if c.values[i].ok && c.values[i].null != present {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == setAll:
			return true // vacuously: every one of no values matches
		case c.set == setAny:
			return false
		}
		// StringNotEquals and friends hold when there is nothing to compare.
		return c.spec.negate
	}
	if c.vars && !c.resolvable(e) {
		// An unresolvable policy variable makes the condition not match.
		return false
	}
	switch c.set {
	case setAny:
		for i := 0; i < v.n; i++ {
			if c.matchAny(e, v, i) != c.spec.negate {
				return true
			}
		}
		return false
	case setAll:
		for i := 0; i < v.n; i++ {
			if c.matchAny(e, v, i) == c.spec.negate {
				return false
			}
		}
		return true
	}
	for i := 0; i < v.n; i++ {
		if c.matchAny(e, v, i) {
			return !c.spec.negate
		}
	}
	return c.spec.negate
}

// resolvable reports whether every policy variable in the values resolves.
func (c *condition) resolvable(e *evaluator) bool {
	for i := range c.values {
		v := &c.values[i]
		if !patternResolvable(&v.pat, e) {
			return false
		}
		for j := range v.arn {
			if !patternResolvable(&v.arn[j], e) {
				return false
			}
		}
	}
	return true
}

func patternResolvable(p *pattern, e *evaluator) bool {
	if !p.vars {
		return true
	}
	for i := range p.pieces {
		if p.pieces[i].kind == pieceVar {
			if _, ok := e.variable(&p.pieces[i]); !ok {
				return false
			}
		}
	}
	return true
}

// matchAny reports whether request value i matches any of the policy values.
func (c *condition) matchAny(e *evaluator, v values, i int) bool {
	switch c.spec.fam {
	case famDate:
		var t time.Time
		switch v.kind {
		case valTime, valEpoch:
			t = e.now
		default:
			var ok bool
			if t, ok = parseDate(e.str(v, i)); !ok {
				return false
			}
		}
		for j := range c.values {
			if c.values[j].ok && compareTime(t, c.values[j].t, c.spec.cmp) {
				return true
			}
		}
		return false
	case famNumeric:
		f, err := strconv.ParseFloat(e.str(v, i), 64)
		if err != nil {
			return false
		}
		for j := range c.values {
			if c.values[j].ok && compareNum(f, c.values[j].num, c.spec.cmp) {
				return true
			}
		}
		return false
	case famIP:
		var a netip.Addr
		if v.kind == valIP {
			a = e.ip
		} else {
			var err error
			if a, err = netip.ParseAddr(e.str(v, i)); err != nil {
				return false
			}
			a = a.Unmap()
		}
		for j := range c.values {
			if c.values[j].ok && c.values[j].pfx.Contains(a) {
				return true
			}
		}
		return false
	case famArn:
		s := e.str(v, i)
		for j := range c.values {
			if matchArn(c.values[j].arn, s, e) {
				return true
			}
		}
		return false
	}
	s := e.str(v, i)
	for j := range c.values {
		if c.values[j].pat.match(s, e) {
			return true
		}
	}
	return false
}

// matchArn matches s component by component, so a wildcard never spans a
// colon outside the resource component.
func matchArn(ps []pattern, s string, e *evaluator) bool {
	if ps == nil {
		return false
	}
	rest := s
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(rest, ':')
		if j < 0 || !ps[i].match(rest[:j], e) {
			return false
		}
		rest = rest[j+1:]
	}
	return ps[5].match(rest, e)
}

func compareNum(a, b float64, op cmpOp) bool {
	switch op {
	case cmpLt:
		return a < b
	case cmpLe:
		return a <= b
	case cmpGt:
		return a > b
	case cmpGe:
		return a >= b
	}
	return a == b
}

func compareTime(a, b time.Time, op cmpOp) bool {
	switch op {
	case cmpLt:
		return a.Before(b)
	case cmpLe:
		return !a.After(b)
	case cmpGt:
		return a.After(b)
	case cmpGe:
		return !a.Before(b)
	}
	return a.Equal(b)
}
