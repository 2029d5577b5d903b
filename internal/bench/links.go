package bench

import (
	"fmt"
	"net/url"
	"strings"
)

// maxLinkLen bounds a Link header value the tool parses.
const maxLinkLen = 8 << 10

// nextLink returns the path and query of the rel="next" link among Link
// header values (RFC 8288, as registries send it for tag list pages), or ""
// when there is none. A link must name a /v2/ path; a host in it is
// ignored, as the next page comes from the same registry.
func nextLink(values []string) (string, error) {
	for _, v := range values {
		if len(v) > maxLinkLen {
			return "", fmt.Errorf("Link header of %d bytes", len(v))
		}
		for _, link := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			target = strings.TrimSpace(target)
			if !ok || len(target) < 2 || target[0] != '<' || target[len(target)-1] != '>' {
				continue
			}
			if !hasRelNext(params) {
				continue
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err != nil {
				return "", fmt.Errorf("Link %q: %w", link, err)
			}
			if !strings.HasPrefix(u.Path, "/v2/") {
				return "", fmt.Errorf("Link %q: not a /v2/ path", link)
			}
			return u.RequestURI(), nil
		}
	}
	return "", nil
}

func hasRelNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
			if strings.EqualFold(rel, "next") {
				return true
			}
		}
	}
	return false
}
