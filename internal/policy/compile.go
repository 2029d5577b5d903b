package policy

import (
	"slices"
	"strings"
)

func compileStatement(raw *rawStatement, st *statement, vars bool) error {
	st.sid, st.hasSid = raw.sid, raw.hasSid
	st.effect = Allow
	if raw.effect == "Deny" {
		st.effect = Deny
	}
	st.notAction = raw.notAction
	st.actions = make([]pattern, len(raw.actions))
	for i, a := range raw.actions {
		// Actions: case-insensitive wildcards, no policy variables.
		st.actions[i] = compilePattern(a, true, false, true)
	}
	st.hasResource, st.notResource = raw.hasResource, raw.notResource
	st.resources = make([]pattern, len(raw.resources))
	for i, r := range raw.resources {
		// Resources: case-sensitive wildcards over the whole ARN string.
		st.resources[i] = compilePattern(r, true, vars, false)
	}
	if raw.hasPrincipal {
		ps, err := parsePrincipal(raw.principal)
		if err != nil {
			return err
		}
		st.hasPrincipal, st.notPrincipal, st.principal = true, raw.notPrincipal, ps
	}
	st.conditions = make([]condition, 0, len(raw.conds))
	for _, rc := range raw.conds {
		c, err := compileCondition(rc.op, rc.spec, rc.set, rc.ifExists, rc.key, rc.values, vars)
		if err != nil {
			return err
		}
		st.conditions = append(st.conditions, c)
	}
	return nil
}

// parsePrincipal compiles a Principal or NotPrincipal element: "*", or an
// object with AWS, Service, Federated or CanonicalUser members.
func parsePrincipal(v any) (principalSet, error) {
	var ps principalSet
	switch t := v.(type) {
	case string:
		if t != "*" {
			return ps, malformed(msgSyntax)
		}
		ps.any = true
		return ps, nil
	case map[string]any:
		if len(t) == 0 {
			return ps, malformed(msgSyntax)
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			vals, ok := stringList(t[k])
			if !ok || len(vals) == 0 {
				return ps, malformed(msgSyntax)
			}
			switch k {
			case "AWS":
				for _, a := range vals {
					if err := ps.addAWS(a); err != nil {
						return ps, err
					}
				}
			case "Service":
				for _, s := range vals {
					if s == "" {
						return ps, malformedf("Invalid principal in policy: \"SERVICE\":\"%s\"", s)
					}
				}
				ps.service = vals
			case "Federated":
				ps.fed = vals
			case "CanonicalUser":
				ps.canonUsr = vals
			default:
				return ps, malformed(msgSyntax)
			}
		}
		return ps, nil
	}
	return ps, malformed(msgSyntax)
}

// addAWS validates and adds one AWS principal: "*", a 12-digit account id, or
// the ARN of an account root, IAM user, role or STS session. Wildcards other
// than a lone "*" are invalid, as in IAM.
func (ps *principalSet) addAWS(a string) error {
	ps.rawAWS = append(ps.rawAWS, a)
	switch {
	case a == "*":
		ps.anyAWS = true
		return nil
	case isAccountID(a):
		ps.accounts = append(ps.accounts, a)
		return nil
	}
	bad := malformedf("Invalid principal in policy: \"AWS\":\"%s\"", a)
	if strings.ContainsAny(a, "*?") {
		return bad
	}
	f := strings.SplitN(a, ":", 6)
	if len(f) != 6 || f[0] != "arn" || !slices.Contains(partitions, f[1]) || f[3] != "" || !isAccountID(f[4]) {
		return bad
	}
	switch f[2] {
	case "iam":
		switch {
		case f[5] == "root":
			ps.accounts = append(ps.accounts, f[4])
			return nil
		case hasNamedPrefix(f[5], "user/"), hasNamedPrefix(f[5], "role/"):
			ps.arns = append(ps.arns, a)
			return nil
		}
	case "sts":
		if hasNamedPrefix(f[5], "assumed-role/") || hasNamedPrefix(f[5], "federated-user/") {
			ps.arns = append(ps.arns, a)
			return nil
		}
	}
	return bad
}

func hasNamedPrefix(s, prefix string) bool {
	return strings.HasPrefix(s, prefix) && len(s) > len(prefix) && !strings.HasSuffix(s, "/")
}

func isAccountID(s string) bool { return len(s) == 12 && isDigits(s) }

// match reports whether the caller is one of the principals. An account
// principal (bare id or :root ARN) stands for every principal of that
// account, the root user included.
func (ps *principalSet) match(p *Principal) bool {
	if ps.any || ps.anyAWS {
		return true
	}
	if p.AccountID != "" {
		for _, a := range ps.accounts {
			if a == p.AccountID {
				return true
			}
		}
	}
	if p.ARN != "" {
		for _, a := range ps.arns {
			if a == p.ARN {
				return true
			}
		}
	}
	// Service, Federated and CanonicalUser principals never match a Berth
	// caller: Berth authenticates IAM users and account roots only.
	return false
}
