package lifecycle

import "strings"

// matchesTags reports whether an image with tags meets the rule's tag
// requirements. For tagged rules every entry of the prefix or pattern list
// must match at least one tag (ECR: "only the images with all specified tags
// are selected").
func (r *Rule) matchesTags(tags []string) bool {
	switch r.TagStatus {
	case TagStatusUntagged:
		return len(tags) == 0
	case TagStatusAny:
		return true
	case TagStatusTagged:
		if len(tags) == 0 {
			return false
		}
		for _, prefix := range r.TagPrefixList {
			if !anyTag(tags, func(t string) bool { return strings.HasPrefix(t, prefix) }) {
				return false
			}
		}
		for _, pattern := range r.TagPatternList {
			if !anyTag(tags, func(t string) bool { return wildcardMatch(pattern, t) }) {
				return false
			}
		}
		return true
	}
	return false
}

func anyTag(tags []string, match func(string) bool) bool {
	for _, t := range tags {
		if match(t) {
			return true
		}
	}
	return false
}

// wildcardMatch reports whether s matches pattern, where '*' stands for any
// run of characters (possibly empty) and every other byte is literal. It runs
// in O(len(pattern)*len(s)) at worst, with no recursion.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			// Let the last '*' swallow one more byte and retry.
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
