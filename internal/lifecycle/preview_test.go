package lifecycle

import (
	"reflect"
	"slices"
	"testing"
)

func TestPreview(t *testing.T) {
	p, err := Parse(policy(rule(1, pulled30Any, transition), rule(2, archived90, expire)))
	if err != nil {
		t.Fatal(err)
	}
	images := []Image{
		img("a", days(100), "v1"),
		img("b", days(90)),
		archived(img("c", days(300), "old"), days(100)),
		img("d", days(1), "new"),
	}
	got := Preview(Evaluate(p, images, now))
	want := []PreviewResult{
		{ImageTags: []string{"v1"}, ImageDigest: dg("a"), ImagePushedAt: ago(days(100)), Action: RuleAction{Type: "TRANSITION", TargetStorageClass: "ARCHIVE"}, AppliedRulePriority: 1, StorageClass: "STANDARD"},
		{ImageDigest: dg("b"), ImagePushedAt: ago(days(90)), Action: RuleAction{Type: "TRANSITION", TargetStorageClass: "ARCHIVE"}, AppliedRulePriority: 1, StorageClass: "STANDARD"},
		{ImageTags: []string{"old"}, ImageDigest: dg("c"), ImagePushedAt: ago(days(300)), Action: RuleAction{Type: "EXPIRE"}, AppliedRulePriority: 2, StorageClass: "ARCHIVE"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Preview() =\n%+v\nwant\n%+v", got, want)
	}

	tests := []struct {
		tagStatus string
		want      []string
		ok        bool
	}{
		{"", []string{dg("a").String(), dg("b").String(), dg("c").String()}, true},
		{"ANY", []string{dg("a").String(), dg("b").String(), dg("c").String()}, true},
		{"TAGGED", []string{dg("a").String(), dg("c").String()}, true},
		{"UNTAGGED", []string{dg("b").String()}, true},
		{"tagged", nil, false},
	}
	for _, tt := range tests {
		filtered, ok := FilterPreview(got, tt.tagStatus)
		var digests []string
		for _, r := range filtered {
			digests = append(digests, r.ImageDigest.String())
		}
		if ok != tt.ok || !slices.Equal(digests, tt.want) {
			t.Errorf("FilterPreview(%q) = %v, %v; want %v, %v", tt.tagStatus, digests, ok, tt.want, tt.ok)
		}
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name    string
		results []Result
		want    PreviewSummary
	}{
		{"nothing", nil, PreviewSummary{}},
		{
			"expiring only: no transitioning counts",
			[]Result{{Action: ActionExpire}, {Action: ActionExpire}},
			PreviewSummary{ExpiringImageTotalCount: 2},
		},
		{
			"both",
			[]Result{
				{Action: ActionTransition, TargetStorageClass: StorageArchive},
				{Action: ActionExpire},
				{Action: ActionTransition, TargetStorageClass: StorageArchive},
				{Action: ActionTransition, TargetStorageClass: StorageArchive},
			},
			PreviewSummary{
				ExpiringImageTotalCount:       1,
				TransitioningImageTotalCounts: []TransitioningImageTotalCount{{TargetStorageClass: "ARCHIVE", ImageTotalCount: 3}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(tt.results); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Summarize() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
