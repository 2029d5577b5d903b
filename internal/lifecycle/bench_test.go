package lifecycle

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkEvaluate measures a typical four-rule policy over a large
// repository: tagged releases, untagged builds, multi-arch children and
// signatures.
func BenchmarkEvaluate(b *testing.B) {
	p, err := Parse(policy(
		rule(1, `"tagStatus":"tagged","tagPatternList":["v*.*.*"],"countType":"imageCountMoreThan","countNumber":100`, transition),
		rule(2, `"tagStatus":"tagged","tagPrefixList":["pr-"],"countType":"sinceImagePushed","countUnit":"days","countNumber":14`, expire),
		rule(3, untagged7, expire),
		rule(4, pulled30Any, transition),
		rule(5, archived90, expire),
	))
	if err != nil {
		b.Fatal(err)
	}
	const n = 10000
	images := make([]Image, 0, n)
	for i := range n {
		name := fmt.Sprintf("image-%d", i)
		im := Image{Digest: dg(name), PushedAt: ago(time.Duration(i) * time.Hour)}
		switch i % 5 {
		case 0:
			im.Tags = []string{fmt.Sprintf("v1.%d.0", i), "latest-" + name}
		case 1:
			im.Tags = []string{fmt.Sprintf("pr-%d", i)}
		case 2:
			im.ReferencedByIndexes = append(im.ReferencedByIndexes, dg(fmt.Sprintf("image-%d", i-2)))
		case 3:
			im.Subject = dg(fmt.Sprintf("image-%d", i-3))
		case 4:
			im = archived(im, time.Duration(i)*time.Hour)
		}
		images = append(images, im)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(p, images, now)
	}
}
