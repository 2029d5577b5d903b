package policy

// Reason says why a Decision came out the way it did.
type Reason uint8

const (
	// ReasonNoAllow is an implicit deny: no applicable statement allowed.
	ReasonNoAllow Reason = iota
	// ReasonExplicitDeny: a Deny statement applied.
	ReasonExplicitDeny
	// ReasonAllowed: an Allow statement applied (or the caller is root).
	ReasonAllowed
)

func (r Reason) String() string {
	switch r {
	case ReasonExplicitDeny:
		return "ExplicitDeny"
	case ReasonAllowed:
		return "Allowed"
	}
	return "NoAllow"
}

// Decision is the outcome of Evaluate.
type Decision struct {
	Allowed bool
	Reason  Reason
	// DenyingPolicy is the kind of policy holding the applicable Deny
	// (ReasonExplicitDeny only).
	DenyingPolicy Kind
	// AllowingPolicy is the kind of policy holding the applicable Allow
	// (ReasonAllowed only; KindNone for root's allow).
	AllowingPolicy Kind
	// Sid is the deciding statement's Sid, when it has one.
	Sid string
}

// Explanation is the tail of AWS's AccessDenied message for d, e.g.
// "because no identity-based policy allows the ecr:PutImage action" or
// "with an explicit deny in a resource-based policy". "" when allowed.
func (d Decision) Explanation(action string) string {
	switch d.Reason {
	case ReasonExplicitDeny:
		if d.DenyingPolicy == KindResource {
			return "with an explicit deny in a resource-based policy"
		}
		return "with an explicit deny in an identity-based policy"
	case ReasonNoAllow:
		return "because no identity-based policy allows the " + action + " action"
	}
	return ""
}

// Message is AWS's AccessDenied message for a denied request:
// "User: <arn> is not authorized to perform: <action> on resource: <arn>
// because no identity-based policy allows the <action> action".
func (d Decision) Message(req *Request) string {
	user := req.Principal.ARN
	if user == "" {
		user = "anonymous"
	}
	msg := "User: " + user + " is not authorized to perform: " + req.Action
	if req.Resource != "" && req.Resource != "*" {
		msg += " on resource: " + req.Resource
	}
	if ex := d.Explanation(req.Action); ex != "" {
		msg += " " + ex
	}
	return msg
}

// Evaluate decides req with IAM's logic for a caller and a resource in the
// same account:
//
//  1. A Deny statement that applies, in any identity or resource policy,
//     denies (explicit deny).
//  2. Otherwise an Allow that applies in either an identity policy or a
//     resource policy allows: within one account either suffices.
//  3. Otherwise the request is implicitly denied.
//
// The account root (Principal.IsRoot) is not governed by identity policies,
// which IAM cannot attach to root: identity policies are skipped entirely,
// so root is allowed unless a resource policy explicitly denies it (as for
// most AWS services; SCPs, which could restrict root, do not exist here).
//
// Policies of the wrong kind in a list are evaluated as their position says:
// principals are checked only for policies in resource.
func Evaluate(req Request, identity, resource []*Policy) Decision {
	e := newEvaluator(req)
	var d Decision
	if !req.Principal.IsRoot {
		if deny, sid, allow, allowSid := e.scan(identity, false); deny {
			return Decision{Reason: ReasonExplicitDeny, DenyingPolicy: KindIdentity, Sid: sid}
		} else if allow {
			d = Decision{Allowed: true, Reason: ReasonAllowed, AllowingPolicy: KindIdentity, Sid: allowSid}
		}
	}
	deny, sid, allow, allowSid := e.scan(resource, true)
	switch {
	case deny:
		return Decision{Reason: ReasonExplicitDeny, DenyingPolicy: KindResource, Sid: sid}
	case d.Allowed:
		return d
	case allow:
		return Decision{Allowed: true, Reason: ReasonAllowed, AllowingPolicy: KindResource, Sid: allowSid}
	case req.Principal.IsRoot:
		return Decision{Allowed: true, Reason: ReasonAllowed}
	}
	return Decision{Reason: ReasonNoAllow}
}

// scan evaluates every statement of policies. It stops at the first
// applicable Deny; once an Allow applied it only looks at Deny statements.
func (e *evaluator) scan(policies []*Policy, principals bool) (deny bool, denySid string, allow bool, allowSid string) {
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.statements {
			st := &p.statements[i]
			if allow && st.effect == Allow {
				continue
			}
			if !st.applies(e, principals) {
				continue
			}
			if st.effect == Deny {
				return true, st.sid, allow, allowSid
			}
			allow, allowSid = true, st.sid
		}
	}
	return false, "", allow, allowSid
}

// applies reports whether the statement covers the request, cheapest test
// first.
func (st *statement) applies(e *evaluator, principals bool) bool {
	if st.matchAction(e.req.Action) == st.notAction {
		return false
	}
	if st.hasResource && st.matchResource(e) == st.notResource {
		return false
	}
	if principals && (!st.hasPrincipal || st.principal.match(&e.req.Principal) == st.notPrincipal) {
		return false
	}
	for i := range st.conditions {
		if !st.conditions[i].eval(e) {
			return false
		}
	}
	return true
}

func (st *statement) matchAction(action string) bool {
	for i := range st.actions {
		if st.actions[i].match(action, nil) {
			return true
		}
	}
	return false
}

func (st *statement) matchResource(e *evaluator) bool {
	for i := range st.resources {
		if st.resources[i].match(e.req.Resource, e) {
			return true
		}
	}
	return false
}
