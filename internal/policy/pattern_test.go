package policy

import "testing"

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		s       string
		fold    bool
		want    bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"*", "anything", false, true},
		{"abc", "abc", false, true},
		{"abc", "ABC", false, false},
		{"abc", "ABC", true, true},
		{"a*", "a", false, true},
		{"a*", "abc", false, true},
		{"a*", "ba", false, false},
		{"*c", "abc", false, true},
		{"*c", "abcd", false, false},
		{"a*c", "ac", false, true},
		{"a*c", "abbbc", false, true},
		{"a*c", "abbbd", false, false},
		{"a*b*c", "axxbyyc", false, true},
		{"a*b*c", "axxcyyb", false, false},
		{"a**c", "abc", false, true},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"a?c", "abbc", false, false},
		{"?", "é", false, true}, // one character, two bytes
		{"??", "é", false, false},
		{"*ab", "aab", false, true},
		{"*aab", "aaab", false, true},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", false, false},
		{"ecr:*Image", "ECR:PutIMAGE", true, true},
		{"x*y?z", "xAAyBz", false, true},
		{"${*}", "*", false, false}, // vars disabled: the text is literal
	}
	for _, tc := range tests {
		p := compilePattern(tc.pattern, true, false, tc.fold)
		if got := p.match(tc.s, nil); got != tc.want {
			t.Errorf("match(%q, %q, fold=%v) = %v, want %v", tc.pattern, tc.s, tc.fold, got, tc.want)
		}
	}
}

func TestPatternShapes(t *testing.T) {
	tests := []struct {
		pattern string
		want    patternShape
	}{
		{"*", shapeAny},
		{"**", shapeAny},
		{"ecr:PutImage", shapeExact},
		{"ecr:*", shapePrefix},
		{"*Image", shapeGeneral},
		{"a?", shapeGeneral},
	}
	for _, tc := range tests {
		if got := compilePattern(tc.pattern, true, false, false).shape; got != tc.want {
			t.Errorf("shape(%q) = %v, want %v", tc.pattern, got, tc.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // unix seconds; -1 for a parse failure
	}{
		{"2026-06-15T12:00:00Z", 1781524800},
		{"2026-06-15t12:00:00z", 1781524800},
		{"2026-06-15T14:00:00+02:00", 1781524800},
		{"2026-06-15T12:00:00.000Z", 1781524800},
		{"2026-06-15T12:00", 1781524800},
		{"2026-06-15", 1781481600},
		{"1781524800", 1781524800},
		{"", -1},
		{"yesterday", -1},
		{"2026-13-01", -1},
		{"99999999999999999999", -1},
	}
	for _, tc := range tests {
		got, ok := parseDate(tc.in)
		switch {
		case tc.want < 0 && ok:
			t.Errorf("parseDate(%q) = %v, want failure", tc.in, got)
		case tc.want >= 0 && (!ok || got.Unix() != tc.want):
			t.Errorf("parseDate(%q) = %v, %v; want %d", tc.in, got.Unix(), ok, tc.want)
		}
	}
}
