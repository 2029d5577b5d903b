package policy

import (
	"encoding/json"
)

// jsonPolicy is the canonical serialized form: every multi-valued element is
// an array, conditions are grouped by operator.
type jsonPolicy struct {
	Version   string          `json:"Version,omitempty"`
	ID        *string         `json:"Id,omitempty"`
	Statement []jsonStatement `json:"Statement"`
}

type jsonStatement struct {
	Sid          *string                        `json:"Sid,omitempty"`
	Effect       string                         `json:"Effect"`
	Principal    any                            `json:"Principal,omitempty"`
	NotPrincipal any                            `json:"NotPrincipal,omitempty"`
	Action       []string                       `json:"Action,omitempty"`
	NotAction    []string                       `json:"NotAction,omitempty"`
	Resource     []string                       `json:"Resource,omitempty"`
	NotResource  []string                       `json:"NotResource,omitempty"`
	Condition    map[string]map[string][]string `json:"Condition,omitempty"`
}

// MarshalJSON renders p as a canonical policy document that parses back to
// an equivalent policy.
func (p *Policy) MarshalJSON() ([]byte, error) {
	out := jsonPolicy{Version: p.version, Statement: make([]jsonStatement, len(p.statements))}
	if p.hasID {
		out.ID = &p.id
	}
	for i := range p.statements {
		st := &p.statements[i]
		js := &out.Statement[i]
		if st.hasSid {
			js.Sid = &st.sid
		}
		js.Effect = st.effect.String()
		acts := raws(st.actions)
		if st.notAction {
			js.NotAction = acts
		} else {
			js.Action = acts
		}
		if st.hasResource {
			res := raws(st.resources)
			if st.notResource {
				js.NotResource = res
			} else {
				js.Resource = res
			}
		}
		if st.hasPrincipal {
			pr := st.principal.jsonValue()
			if st.notPrincipal {
				js.NotPrincipal = pr
			} else {
				js.Principal = pr
			}
		}
		if len(st.conditions) > 0 {
			js.Condition = make(map[string]map[string][]string)
			for j := range st.conditions {
				c := &st.conditions[j]
				block := js.Condition[c.op]
				if block == nil {
					block = make(map[string][]string)
					js.Condition[c.op] = block
				}
				block[c.key.name] = c.raw
			}
		}
	}
	return json.Marshal(out)
}

// String returns the canonical JSON document.
func (p *Policy) String() string {
	b, err := p.MarshalJSON()
	if err != nil {
		return ""
	}
	return string(b)
}

func raws(ps []pattern) []string {
	out := make([]string, len(ps))
	for i := range ps {
		out[i] = ps[i].raw
	}
	return out
}

func (ps *principalSet) jsonValue() any {
	if ps.any {
		return "*"
	}
	m := make(map[string][]string)
	if len(ps.rawAWS) > 0 {
		m["AWS"] = ps.rawAWS
	}
	if len(ps.service) > 0 {
		m["Service"] = ps.service
	}
	if len(ps.fed) > 0 {
		m["Federated"] = ps.fed
	}
	if len(ps.canonUsr) > 0 {
		m["CanonicalUser"] = ps.canonUsr
	}
	return m
}
