package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }

func days(n float64) time.Duration { return time.Duration(n * float64(24*time.Hour)) }

func ptr[T any](v T) *T { return &v }

// dg derives a test image's digest from its name.
func dg(name string) digest.Digest { return digest.FromString(name) }

// img builds an ACTIVE image pushed age ago.
func img(name string, age time.Duration, tags ...string) Image {
	return Image{Digest: dg(name), Tags: tags, PushedAt: ago(age)}
}

// with applies changes to an image, for the cases that need more fields.
func with(i Image, change func(*Image)) Image {
	change(&i)
	return i
}

func childOf(i Image, parents ...string) Image {
	return with(i, func(i *Image) {
		for _, p := range parents {
			i.ReferencedByIndexes = append(i.ReferencedByIndexes, dg(p))
		}
	})
}

func referrerOf(i Image, subject string) Image {
	return with(i, func(i *Image) { i.Subject = dg(subject) })
}

func archived(i Image, transitionedAgo time.Duration) Image {
	return with(i, func(i *Image) {
		i.StorageClass = ImageArchived
		i.LastTransitionedAt = ptr(ago(transitionedAgo))
	})
}

// outcome renders results as "name:action@priority" in result order, with
// "<-subject" for referrers that follow their subject.
func outcome(results []Result, images []Image) []string {
	names := make(map[digest.Digest]string)
	for _, i := range images {
		for _, n := range testNames {
			if dg(n) == i.Digest {
				names[i.Digest] = n
			}
		}
	}
	var out []string
	for _, r := range results {
		s := fmt.Sprintf("%s:%s@%d", names[r.Digest], r.Action, r.RulePriority)
		if r.FollowsSubject != "" {
			s += "<-" + names[r.FollowsSubject]
		}
		out = append(out, s)
	}
	return out
}

// testNames are the image names the cases use, so that outcome can name digests.
var testNames = strings.Fields(`a b c d e f g h u1 u2 u3 t1 t2 t3 p1 p2 p3 d1 d2 x y z
	idx idx2 top mid c1 c2 s sig sig2 sbom`)

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		images []Image
		want   []string
	}{
		{
			name:   "imageCountMoreThan keeps the newest by push time",
			policy: policy(rule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2`, expire)),
			images: []Image{img("c", days(3), "c"), img("a", days(1)), img("d", days(4), "d"), img("b", days(2), "b")},
			want:   []string{"d:expire@1", "c:expire@1"},
		},
		{
			name:   "imageCountMoreThan within the count acts on nothing",
			policy: policy(rule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":4`, expire)),
			images: []Image{img("a", days(1)), img("b", days(2)), img("c", days(300))},
			want:   nil,
		},
		{
			name:   "sinceImagePushed counts whole days: exactly 7 days old is selected, a second less is not",
			policy: policy(rule(1, untagged7, expire)),
			images: []Image{
				img("u1", days(7)-time.Second),
				img("u2", days(7)),
				img("u3", days(10)),
				img("t1", days(30), "latest"),     // tagged: not selected by an untagged rule
				img("a", -time.Hour),              // pushed in the future (clock skew): never old
				img("b", days(8)-time.Nanosecond), // 7 whole days and change
			},
			want: []string{"u3:expire@1", "b:expire@1", "u2:expire@1"},
		},
		{
			name:   "tagPrefixList selects images that have ALL the prefixes",
			policy: policy(rule(1, `"tagStatus":"tagged","tagPrefixList":["prod","v1"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1`, expire)),
			images: []Image{
				img("a", days(5), "prod-a", "v1.2"), // both prefixes, on different tags
				img("b", days(5), "prod"),           // only prod
				img("c", days(5), "v1"),             // only v1
				img("d", days(5), "prodv1"),         // "v1" is not a prefix of it
				img("e", days(4), "v1prod", "prod"), // both
				img("f", days(5)),                   // untagged
			},
			want: []string{"a:expire@1", "e:expire@1"},
		},
		{
			name:   "tagPatternList selects images that match ALL the patterns",
			policy: policy(rule(1, `"tagStatus":"tagged","tagPatternList":["prod*","*-rc*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1`, expire)),
			images: []Image{
				img("a", days(5), "prod1", "2.0-rc1"), // each pattern on its own tag
				img("b", days(6), "prod-rc1"),         // one tag matches both
				img("c", days(5), "prod"),             // no -rc
				img("d", days(5), "2.0-rc1"),          // no prod
				img("e", days(5), "Prod-rc1"),         // patterns are case-sensitive
			},
			want: []string{"b:expire@1", "a:expire@1"},
		},
		{
			name: "an image a rule's tag filter matches is kept from lower rules even when that rule keeps it",
			policy: policy(
				rule(1, `"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":5`, expire),
				rule(2, `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":5`, expire),
			),
			images: []Image{
				img("p1", days(100), "prod-1"),
				img("p2", days(200), "prod-2"),
				img("d1", days(10), "dev-1"),
				img("u1", days(10)),
				img("d2", days(1), "dev-2"),
			},
			want: []string{"d1:expire@2", "u1:expire@2"},
		},
		{
			name: "priorities: each image is acted on by the first rule that selects it",
			policy: policy(
				rule(1, `"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":1`, expire),
				rule(2, `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":5`, expire),
			),
			images: []Image{
				img("p1", days(10), "prod1"),
				img("p2", days(20), "prod2"),
				img("p3", days(1), "prod3"),
				img("d1", days(10), "dev"),
				img("u1", days(11)),
				img("d2", days(1), "dev2"),
			},
			want: []string{"p2:expire@1", "p1:expire@1", "u1:expire@2", "d1:expire@2"},
		},
		{
			name: "images a higher rule matches still fill a lower rule's count",
			policy: policy(
				rule(1, `"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":10`, expire),
				rule(2, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2`, expire),
			),
			images: []Image{img("p1", days(1), "prod1"), img("p2", days(2), "prod2"), img("d1", days(3), "dev1"), img("d2", days(4), "dev2")},
			want:   []string{"d2:expire@2", "d1:expire@2"},
		},
		{
			name: "untagged rule first, any rule last",
			policy: policy(
				rule(1, `"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1`, expire),
				rule(2, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3`, expire),
			),
			images: []Image{img("u1", days(1)), img("u2", days(2)), img("t1", days(3), "a"), img("t2", days(4), "b"), img("t3", days(5), "c")},
			want:   []string{"u2:expire@1", "t3:expire@2", "t2:expire@2"},
		},
		{
			name: "at most one rule: an untagged image kept by the untagged rule is not expired by the any rule",
			policy: policy(
				rule(1, `"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1`, expire),
				rule(2, `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":30`, expire),
			),
			images: []Image{img("u1", days(90)), img("u2", days(100)), img("t1", days(100), "v1")},
			want:   []string{"u2:expire@1", "t1:expire@2"},
		},
		{
			name:   "a manifest list protects its children",
			policy: policy(rule(1, untagged7, expire)),
			images: []Image{
				img("idx", days(1), "latest"),
				childOf(img("c1", days(30)), "idx"),
				childOf(img("c2", days(30)), "idx"),
				img("u1", days(30)),
			},
			want: []string{"u1:expire@1"},
		},
		{
			name: "children go when their manifest list is expired in the same evaluation",
			policy: policy(
				rule(1, `"tagStatus":"tagged","tagPrefixList":["old"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1`, expire),
				rule(2, untagged7, expire),
			),
			images: []Image{
				img("idx", days(2), "old-1"),
				childOf(img("c1", days(30)), "idx"),
				childOf(img("c2", days(30)), "idx", "idx2"), // also in a list that stays
				img("idx2", days(1), "new-1"),
			},
			want: []string{"idx:expire@1", "c1:expire@2"},
		},
		{
			name:   "a child of a list that is gone or archived is not protected",
			policy: policy(rule(1, untagged7, expire)),
			images: []Image{
				childOf(img("c1", days(31)), "x"), // x is not in the repository any more
				archived(img("idx", days(60), "v1"), days(10)),
				childOf(img("c2", days(30)), "idx"),
			},
			want: []string{"c1:expire@1", "c2:expire@1"},
		},
		{
			name:   "nested manifest lists: protection passes down",
			policy: policy(rule(1, untagged7, expire)),
			images: []Image{
				img("top", days(1), "latest"),
				childOf(img("mid", days(30)), "top"),
				childOf(img("c1", days(30)), "mid"),
			},
			want: nil,
		},
		{
			name: "nested manifest lists: all go when the top one goes",
			policy: policy(
				rule(1, `"tagStatus":"tagged","tagPatternList":["lat*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1`, expire),
				rule(2, untagged7, expire),
			),
			images: []Image{
				img("top", days(10), "latest"),
				childOf(img("mid", days(30)), "top"),
				childOf(img("c1", days(31)), "mid"),
			},
			want: []string{"top:expire@1", "c1:expire@2", "mid:expire@2"},
		},
		{
			name: "referrers follow their expired subject, transitively",
			policy: policy(
				rule(1, `"tagStatus":"tagged","tagPrefixList":["old"],"countType":"sinceImagePushed","countUnit":"days","countNumber":5`, expire),
			),
			images: []Image{
				img("s", days(10), "old-1"),
				referrerOf(img("sig", days(1)), "s"),
				referrerOf(img("sig2", days(1)), "sig"),
				img("t1", days(10), "new-1"),
				referrerOf(img("sbom", days(10)), "t1"), // subject kept: stays
			},
			want: []string{"s:expire@1", "sig:expire@1<-s", "sig2:expire@1<-sig"},
		},
		{
			name: "a referrer archived by its own rule is expired with its subject",
			policy: policy(
				rule(1, `"tagStatus":"tagged","tagPrefixList":["old"],"countType":"sinceImagePushed","countUnit":"days","countNumber":5`, expire),
				rule(2, `"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1`, transition),
			),
			images: []Image{
				img("s", days(10), "old-1"),
				referrerOf(img("sig", days(3)), "s"),
			},
			want: []string{"s:expire@1", "sig:expire@1<-s"},
		},
		{
			name: "referrers are archived with their subject",
			policy: policy(
				rule(1, `"tagStatus":"tagged","tagPrefixList":["v"],"countType":"sinceImagePulled","countUnit":"days","countNumber":30`, transition),
			),
			images: []Image{
				img("s", days(60), "v1"),
				referrerOf(img("sig", days(1)), "s"),
				referrerOf(archived(img("sbom", days(50)), days(1)), "s"), // already archived
			},
			want: []string{"s:transition@1", "sig:transition@1<-s"},
		},
		{
			name: "a referrer in a live manifest list stays even when its subject goes",
			policy: policy(
				rule(1, `"tagStatus":"tagged","tagPrefixList":["old"],"countType":"sinceImagePushed","countUnit":"days","countNumber":5`, expire),
			),
			images: []Image{
				img("s", days(10), "old-1"),
				img("idx", days(1), "new"),
				childOf(referrerOf(img("sig", days(1)), "s"), "idx"),
				referrerOf(img("sig2", days(1)), "sig"),
			},
			want: []string{"s:expire@1"},
		},
		{
			name: "archive lifecycle: transition by pull age, expire by archive age",
			policy: policy(
				rule(1, pulled30Any, transition),
				rule(2, archived90, expire),
			),
			images: []Image{
				img("a", days(100)), // never pulled: measured from the push
				with(img("b", days(100), "v1"), func(i *Image) { i.LastPulledAt = ptr(ago(days(10))) }),
				with(img("c", days(90), "v2"), func(i *Image) { i.LastPulledAt = ptr(ago(days(31))) }),
				archived(img("d", days(300)), days(91)),
				archived(img("e", days(300)), days(89)),
				with(img("f", days(300)), func(i *Image) { i.StorageClass = ImageArchived }), // no archive time
				with(img("g", days(300)), func(i *Image) { i.StorageClass = ImageActivating }),
				// Restored 5 days ago and not pulled since: measured from the restore.
				with(img("h", days(300)), func(i *Image) {
					i.LastPulledAt = ptr(ago(days(200)))
					i.LastActivatedAt = ptr(ago(days(5)))
				}),
			},
			want: []string{"a:transition@1", "c:transition@1", "d:expire@2"},
		},
		{
			name: "standard rules do not see archived images, and their tag filter does not shield them",
			policy: policy(
				rule(1, `"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1`, transition),
				rule(2, `"tagStatus":"tagged","tagPrefixList":["v"],"storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, expire),
			),
			images: []Image{
				img("a", days(1), "v3"),
				img("b", days(2), "v2"),
				archived(img("c", days(400), "v1"), days(100)),
				archived(img("d", days(300), "v0"), days(10)),
			},
			want: []string{"b:transition@1", "c:expire@2"},
		},
		{
			name:   "a restored image's push age counts from the restore",
			policy: policy(rule(1, `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":30`, expire)),
			images: []Image{
				with(img("a", days(100)), func(i *Image) { i.LastActivatedAt = ptr(ago(days(2))) }),
				img("b", days(100)),
			},
			want: []string{"b:expire@1"},
		},
		{
			name:   "a digest listed twice counts once",
			policy: policy(rule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, expire)),
			images: []Image{img("a", days(1)), img("b", days(2)), img("a", days(1))},
			want:   []string{"b:expire@1"},
		},
		{
			name:   "no images",
			policy: policy(rule(1, anyCount, expire)),
			images: nil,
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.policy)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			got := outcome(Evaluate(p, tt.images, now), tt.images)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Evaluate() = %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestEvaluateResultFields(t *testing.T) {
	p, err := Parse(policy(rule(1, pulled30Any, transition), rule(2, archived90, expire)))
	if err != nil {
		t.Fatal(err)
	}
	images := []Image{
		img("a", days(100), "v1", "latest"),
		archived(img("b", days(300)), days(100)),
	}
	got := Evaluate(p, images, now)
	want := []Result{
		{Digest: dg("a"), Tags: []string{"v1", "latest"}, PushedAt: ago(days(100)), StorageClass: ImageActive, Action: ActionTransition, TargetStorageClass: StorageArchive, RulePriority: 1},
		{Digest: dg("b"), PushedAt: ago(days(300)), StorageClass: ImageArchived, Action: ActionExpire, RulePriority: 2},
	}
	if !slices.EqualFunc(got, want, resultsEqual) {
		t.Fatalf("Evaluate() =\n%+v\nwant\n%+v", got, want)
	}
	// Results must not alias the caller's tags.
	got[0].Tags[0] = "changed"
	if images[0].Tags[0] != "v1" {
		t.Errorf("Evaluate() result shares its Tags with the input image")
	}
}

func resultsEqual(a, b Result) bool {
	return a.Digest == b.Digest && slices.Equal(a.Tags, b.Tags) && a.PushedAt.Equal(b.PushedAt) &&
		a.StorageClass == b.StorageClass && a.Action == b.Action && a.TargetStorageClass == b.TargetStorageClass &&
		a.RulePriority == b.RulePriority && a.FollowsSubject == b.FollowsSubject
}

func TestEvaluateNilPolicy(t *testing.T) {
	if got := Evaluate(nil, []Image{img("a", days(1000))}, now); got != nil {
		t.Errorf("Evaluate(nil) = %v, want nil", got)
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"prod", "prod", true},
		{"prod", "prod1", false},
		{"prod*", "prod", true},
		{"prod*", "production-team1", true},
		{"prod*", "xprod", false},
		{"*prod*", "repo-production", true},
		{"*prod*", "prod-team", true},
		{"*prod*", "pro", false},
		{"a*b", "ab", true},
		{"a*b", "axxb", true},
		{"a*b", "axxbc", false},
		{"a**b", "ab", true},
		{"*x", "xxx", true},
		{"*test*1*2*3", "my-test-1-2-3", true},
		{"*test*1*2*3", "my-test-1-3-2", false},
		{"a*a*a*a*b", strings.Repeat("a", 40) + "c", false},
		{"", "", true},
		{"", "a", false},
		{"a?", "ab", false}, // '?' is literal
		{"a?", "a?", true},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
