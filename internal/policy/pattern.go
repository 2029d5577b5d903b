package policy

import (
	"strings"
	"unicode/utf8"
)

// pieceKind is one element of a compiled pattern.
type pieceKind uint8

const (
	pieceLit   pieceKind = iota // literal text
	pieceStar                   // * : any run of characters, possibly empty
	pieceQuest                  // ? : exactly one character
	pieceVar                    // ${key} or ${key, 'default'}: resolved per request
)

type piece struct {
	kind pieceKind
	text string // the literal, or the default value of a variable
	// hasDef marks a variable with a default ("${aws:username, 'none'}").
	hasDef bool
	key    *condKey // the variable's key
}

// patternShape lets the common patterns skip the general matcher.
type patternShape uint8

const (
	shapeGeneral patternShape = iota
	shapeAny                  // "*"
	shapeExact                // one literal
	shapePrefix               // literal followed by "*"
)

// pattern is a compiled Action, Resource or condition value: a list of pieces.
// Wildcards and variables are recognised only where the element allows them.
type pattern struct {
	raw    string
	pieces []piece
	shape  patternShape
	fold   bool // case-insensitive (actions, ...IgnoreCase)
	vars   bool // has at least one pieceVar
}

// compilePattern compiles raw. wild enables * and ?; vars enables ${...}
// policy variables (and the ${*} ${?} ${$} escapes); fold makes matching
// case-insensitive.
func compilePattern(raw string, wild, vars, fold bool) pattern {
	p := pattern{raw: raw, fold: fold}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.pieces = append(p.pieces, piece{kind: pieceLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case wild && c == '*':
			flush()
			// Consecutive stars are one star; this keeps matching linear-ish.
			if n := len(p.pieces); n == 0 || p.pieces[n-1].kind != pieceStar {
				p.pieces = append(p.pieces, piece{kind: pieceStar})
			}
			i++
		case wild && c == '?':
			flush()
			p.pieces = append(p.pieces, piece{kind: pieceQuest})
			i++
		case vars && c == '$' && i+1 < len(raw) && raw[i+1] == '{':
			end := strings.IndexByte(raw[i+2:], '}')
			if end < 0 {
				// An unterminated "${" is plain text.
				lit.WriteString(raw[i:])
				i = len(raw)
				continue
			}
			body := strings.TrimSpace(raw[i+2 : i+2+end])
			i += 2 + end + 1
			switch body {
			case "*", "?", "$":
				lit.WriteString(body) // escapes: always literal
				continue
			}
			flush()
			pc := piece{kind: pieceVar}
			name := body
			if comma := strings.IndexByte(body, ','); comma >= 0 {
				name = strings.TrimSpace(body[:comma])
				def := strings.TrimSpace(body[comma+1:])
				if len(def) >= 2 && def[0] == '\'' && def[len(def)-1] == '\'' {
					pc.hasDef = true
					pc.text = def[1 : len(def)-1]
				}
			}
			k := newCondKey(name)
			pc.key = &k
			p.pieces = append(p.pieces, pc)
			p.vars = true
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	p.shape = shapeOf(p.pieces)
	return p
}

func shapeOf(ps []piece) patternShape {
	switch {
	case len(ps) == 1 && ps[0].kind == pieceStar:
		return shapeAny
	case len(ps) == 1 && ps[0].kind == pieceLit:
		return shapeExact
	case len(ps) == 2 && ps[0].kind == pieceLit && ps[1].kind == pieceStar:
		return shapePrefix
	}
	return shapeGeneral
}

// match reports whether s matches p. Variables are resolved through e; an
// unresolvable variable makes the pattern match nothing (IAM semantics).
func (p *pattern) match(s string, e *evaluator) bool {
	switch p.shape {
	case shapeAny:
		return true
	case shapeExact:
		if p.fold {
			return strings.EqualFold(s, p.pieces[0].text)
		}
		return s == p.pieces[0].text
	case shapePrefix:
		return hasPrefix(s, p.pieces[0].text, p.fold)
	}
	if len(p.pieces) == 0 {
		return s == ""
	}
	if !p.vars {
		return globMatch(p.pieces, s, p.fold)
	}
	// Resolve variables into literal pieces; a value substituted for a
	// variable is literal text even if it contains * or ?.
	var buf [12]piece
	ps := buf[:0]
	for i := range p.pieces {
		pc := &p.pieces[i]
		if pc.kind != pieceVar {
			ps = append(ps, *pc)
			continue
		}
		v, ok := e.variable(pc)
		if !ok {
			return false
		}
		ps = append(ps, piece{kind: pieceLit, text: v})
	}
	return globMatch(ps, s, p.fold)
}

func hasPrefix(s, prefix string, fold bool) bool {
	if len(s) < len(prefix) {
		return false
	}
	if fold {
		return strings.EqualFold(s[:len(prefix)], prefix)
	}
	return s[:len(prefix)] == prefix
}

// globMatch matches s against pieces with the classic single-backtrack
// wildcard algorithm: on a mismatch, go back to the last star and let it
// swallow one more character. Literal pieces behave as runs of characters,
// so this is the character-wise algorithm, and runs in O(len(s)*len(pieces)).
// Case folding compares byte ranges of equal length, which is exact for ASCII
// (actions, ARNs and condition keys are ASCII).
func globMatch(ps []piece, s string, fold bool) bool {
	pi, si := 0, 0
	starPi, starSi := -1, 0
	for {
		if pi < len(ps) {
			switch pc := ps[pi]; pc.kind {
			case pieceStar:
				starPi, starSi = pi, si
				pi++
				continue
			case pieceQuest:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					pi++
					continue
				}
			default:
				if hasPrefix(s[si:], pc.text, fold) {
					si += len(pc.text)
					pi++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starPi < 0 || starSi >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starSi:])
		starSi += n
		pi, si = starPi+1, starSi
	}
}
