package policy

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Principal is the caller as policy evaluation sees it.
type Principal struct {
	// ARN is e.g. arn:aws:iam::123456789012:user/alice, or
	// arn:aws:iam::123456789012:root for the account root. Empty for an
	// anonymous caller.
	ARN       string
	AccountID string
	UserName  string
	UserID    string
	IsRoot    bool
}

// Request is one authorization question: may Principal perform Action on
// Resource?
type Request struct {
	Principal Principal
	// Action is "service:Operation", e.g. "ecr:PutImage".
	Action string
	// Resource is the ARN acted on, e.g.
	// arn:aws:ecr:us-east-1:123456789012:repository/app, or "*" for actions
	// without a resource (ecr:GetAuthorizationToken).
	Resource string
	// Context holds request condition keys (aws:RequestTag/k, aws:TagKeys,
	// ecr:ResourceTag/k, ...). Keys are matched case-insensitively; use
	// lower-case keys for the fastest lookup. A key with no values counts as
	// absent. Built-in keys derived from the fields below take precedence.
	Context map[string][]string
	// Now is the request time (aws:CurrentTime, aws:EpochTime); the zero
	// value means time.Now().
	Now time.Time
	// SourceIP is aws:SourceIp; nil leaves the key absent unless Context has it.
	SourceIP net.IP
	// SecureTransport is aws:SecureTransport.
	SecureTransport bool
}

// builtinKey identifies a condition key the evaluator derives from Request.
type builtinKey uint8

const (
	bkNone builtinKey = iota
	bkPrincipalArn
	bkPrincipalAccount
	bkPrincipalType
	bkUsername
	bkUserid
	bkSourceIP
	bkCurrentTime
	bkEpochTime
	bkSecureTransport
)

var builtinKeys = map[string]builtinKey{
	"aws:principalarn":     bkPrincipalArn,
	"aws:principalaccount": bkPrincipalAccount,
	"aws:principaltype":    bkPrincipalType,
	"aws:username":         bkUsername,
	"aws:userid":           bkUserid,
	"aws:sourceip":         bkSourceIP,
	"aws:currenttime":      bkCurrentTime,
	"aws:epochtime":        bkEpochTime,
	"aws:securetransport":  bkSecureTransport,
}

// condKey is a condition key (or a policy variable's key), classified once.
type condKey struct {
	name    string // as written
	lower   string
	builtin builtinKey
	// alias is another spelling of the same key: ECR accepts both
	// ecr:ResourceTag/k and aws:ResourceTag/k.
	alias string
}

func newCondKey(name string) condKey {
	k := condKey{name: name, lower: strings.ToLower(name)}
	k.builtin = builtinKeys[k.lower]
	switch {
	case strings.HasPrefix(k.lower, "ecr:resourcetag/"):
		k.alias = "aws:resourcetag/" + k.lower[len("ecr:resourcetag/"):]
	case strings.HasPrefix(k.lower, "aws:resourcetag/"):
		k.alias = "ecr:resourcetag/" + k.lower[len("aws:resourcetag/"):]
	}
	return k
}

// valueKind says how a looked-up value is held: as strings, or as the
// request's typed time or address so Date and IP operators need no
// formatting and parsing.
type valueKind uint8

const (
	valStrings valueKind = iota
	valTime
	valEpoch
	valIP
)

// values is the value set of a key in one request. It never points into the
// evaluator, so lookups made while another set is in use cannot clobber it.
type values struct {
	one  string
	many []string
	n    int
	kind valueKind
}

// evaluator holds one Evaluate call's state: the request and lazily
// formatted built-in values.
type evaluator struct {
	// req is a copy: a pointer to the caller's Request would make escape
	// analysis move it to the heap on every call.
	req      Request
	now      time.Time
	nowStr   string
	epochStr string
	ipStr    string
	ip       netip.Addr
}

func newEvaluator(req Request) evaluator {
	e := evaluator{req: req, now: req.Now}
	if e.now.IsZero() {
		e.now = time.Now()
	}
	// aws:CurrentTime has one-second resolution; typed and formatted
	// comparisons must agree.
	e.now = e.now.Truncate(time.Second)
	if req.SourceIP != nil {
		if a, ok := netip.AddrFromSlice(req.SourceIP); ok {
			e.ip = a.Unmap()
		}
	}
	return e
}

func one(s string) values { return values{one: s, n: 1} }

// lookup returns the values of k in the request.
func (e *evaluator) lookup(k *condKey) (values, bool) {
	p := &e.req.Principal
	switch k.builtin {
	case bkPrincipalArn:
		if p.ARN != "" {
			return one(p.ARN), true
		}
	case bkPrincipalAccount:
		if p.AccountID != "" {
			return one(p.AccountID), true
		}
	case bkPrincipalType:
		switch {
		case p.IsRoot:
			return one("Account"), true
		case p.ARN == "":
			return one("Anonymous"), true
		case strings.Contains(p.ARN, ":user/"):
			return one("User"), true
		case strings.Contains(p.ARN, ":assumed-role/"):
			return one("AssumedRole"), true
		}
	case bkUsername:
		// The root user has no user name.
		if !p.IsRoot && p.UserName != "" {
			return one(p.UserName), true
		}
	case bkUserid:
		if p.UserID != "" {
			return one(p.UserID), true
		}
		if p.IsRoot && p.AccountID != "" {
			return one(p.AccountID), true
		}
	case bkSourceIP:
		if e.ip.IsValid() {
			return values{n: 1, kind: valIP}, true
		}
	case bkCurrentTime:
		return values{n: 1, kind: valTime}, true
	case bkEpochTime:
		return values{n: 1, kind: valEpoch}, true
	case bkSecureTransport:
		if e.req.SecureTransport {
			return one("true"), true
		}
		return one("false"), true
	}
	if v, ok := e.context(k.name, k.lower); ok {
		return v, true
	}
	if k.alias != "" {
		return e.context(k.alias, k.alias)
	}
	return values{}, false
}

func (e *evaluator) context(name, lower string) (values, bool) {
	m := e.req.Context
	if len(m) == 0 {
		return values{}, false
	}
	vs, ok := m[name]
	if !ok && lower != name {
		vs, ok = m[lower]
	}
	if !ok {
		for k, v := range m {
			if strings.EqualFold(k, name) {
				vs, ok = v, true
				break
			}
		}
	}
	if !ok || len(vs) == 0 {
		return values{}, false
	}
	return values{many: vs, n: len(vs)}, true
}

// str returns value i of v as a string, formatting typed values on demand.
func (e *evaluator) str(v values, i int) string {
	switch v.kind {
	case valTime:
		if e.nowStr == "" {
			e.nowStr = e.now.UTC().Format(time.RFC3339)
		}
		return e.nowStr
	case valEpoch:
		if e.epochStr == "" {
			e.epochStr = strconv.FormatInt(e.now.Unix(), 10)
		}
		return e.epochStr
	case valIP:
		if e.ipStr == "" {
			e.ipStr = e.ip.String()
		}
		return e.ipStr
	}
	if v.many != nil {
		return v.many[i]
	}
	return v.one
}

// variable resolves a policy variable piece. Multi-valued keys cannot be
// policy variables. The default, when given, stands in for a missing key.
func (e *evaluator) variable(pc *piece) (string, bool) {
	v, ok := e.lookup(pc.key)
	if ok && v.n == 1 {
		return e.str(v, 0), true
	}
	if !ok && pc.hasDef {
		return pc.text, true
	}
	return "", false
}
