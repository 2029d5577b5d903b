package registry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/lifecycle"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/registry"
)

const day = 24 * time.Hour

// lcPolicy builds a policy text (padded to ECR's minimum length) from rules.
func lcPolicy(rules ...string) string {
	text := `{"rules":[` + strings.Join(rules, ",") + `]}`
	if n := lifecycle.MinTextLength - len(text); n > 0 {
		text += strings.Repeat(" ", n)
	}
	return text
}

func lcRule(priority int, selection, action string) string {
	return fmt.Sprintf(`{"rulePriority":%d,"selection":{%s},"action":%s}`, priority, selection, action)
}

const (
	lcExpire     = `{"type":"expire"}`
	lcTransition = `{"type":"transition","targetStorageClass":"archive"}`
)

// repoDigests lists the digests of repo's images.
func repoDigests(t *testing.T, r *registry.Registry, repo string) []digest.Digest {
	t.Helper()
	imgs, _, err := r.ListImages(context.Background(), repo, "", 1000, registry.TagStatusAny)
	if err != nil {
		t.Fatal(err)
	}
	var out []digest.Digest
	for _, img := range imgs {
		out = append(out, img.Digest)
	}
	slices.Sort(out)
	return out
}

func sortedOf(ds ...digest.Digest) []digest.Digest {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}

func TestPutLifecyclePolicyValidation(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	pushImage(t, r, "team/app", "v1", "a")
	valid := lcPolicy(lcRule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5`, lcExpire))
	tests := []struct {
		name string
		repo string
		text string
		kind registry.Kind
		code string // the engine's wire code, when the policy is refused
	}{
		{"valid", "team/app", valid, -1, ""},
		{"too short", "team/app", `{"rules":[]}`, registry.KindInvalidParameter, lifecycle.CodeValidation},
		{"not json", "team/app", lcPolicy()[:len(lcPolicy())-1] + "[", registry.KindInvalidParameter, lifecycle.CodeInvalidParameter},
		{"duplicate priority", "team/app", lcPolicy(
			lcRule(1, `"tagStatus":"tagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1`, lcExpire),
			lcRule(1, `"tagStatus":"tagged","tagPrefixList":["b"],"countType":"imageCountMoreThan","countNumber":1`, lcExpire)),
			registry.KindInvalidParameter, lifecycle.CodeInvalidParameter},
		{"any not last", "team/app", lcPolicy(
			lcRule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, lcExpire),
			lcRule(2, `"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1`, lcExpire)),
			registry.KindInvalidParameter, lifecycle.CodeInvalidParameter},
		{"missing repository", "team/none", valid, registry.KindNameUnknown, ""},
		{"bad repository name", "Team", valid, registry.KindNameInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := r.PutLifecyclePolicy(ctx, tt.repo, tt.text)
			if tt.kind < 0 {
				if err != nil || p.Text != tt.text {
					t.Fatalf("PutLifecyclePolicy = %+v, %v", p, err)
				}
				return
			}
			wantKind(t, err, tt.kind)
			var le *lifecycle.Error
			if got := errors.As(err, &le); got != (tt.code != "") || got && le.Code != tt.code {
				t.Fatalf("engine error = %v, want code %q", le, tt.code)
			}
		})
	}
}

func TestLifecyclePolicyCRUD(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	pushImage(t, r, "team/app", "v1", "a")
	_, err := r.GetLifecyclePolicy(ctx, "team/app")
	wantKind(t, err, registry.KindLifecyclePolicyNotFound)
	_, err = r.DeleteLifecyclePolicy(ctx, "team/app")
	wantKind(t, err, registry.KindLifecyclePolicyNotFound)
	_, err = r.RunLifecycle(ctx, "team/app")
	wantKind(t, err, registry.KindLifecyclePolicyNotFound)
	_, err = r.StartLifecyclePreview(ctx, "team/app", "")
	wantKind(t, err, registry.KindLifecyclePolicyNotFound)
	_, err = r.GetLifecyclePreview(ctx, "team/app")
	wantKind(t, err, registry.KindLifecyclePreviewNotFound)

	text := lcPolicy(lcRule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5`, lcExpire))
	if _, err := r.PutLifecyclePolicy(ctx, "team/app", text); err != nil {
		t.Fatal(err)
	}
	p, err := r.GetLifecyclePolicy(ctx, "team/app")
	if err != nil || p.Text != text || p.LastEvaluatedAt != nil {
		t.Fatalf("GetLifecyclePolicy = %+v, %v", p, err)
	}
	repos, err := r.LifecycleRepositories(ctx, "", 0)
	if err != nil || !slices.Equal(repos, []string{"team/app"}) {
		t.Fatalf("LifecycleRepositories = %v, %v", repos, err)
	}
	p, err = r.DeleteLifecyclePolicy(ctx, "team/app")
	if err != nil || p.Text != text {
		t.Fatalf("DeleteLifecyclePolicy = %+v, %v", p, err)
	}
	_, err = r.GetLifecyclePolicy(ctx, "team/app")
	wantKind(t, err, registry.KindLifecyclePolicyNotFound)
}

// TestLifecycleEndToEnd pushes images at controlled times, previews a
// policy, runs it and checks exactly which images remain.
func TestLifecycleEndToEnd(t *testing.T) {
	ctx := context.Background()
	r, c := newCore(t, true)
	start := c.t
	push := func(tag, seed string) digest.Digest {
		d := pushImage(t, r, "team/app", tag, seed)
		c.t = c.t.Add(day)
		return d
	}
	// The index's child is untagged but must stay while the index does.
	child := push("amd64", "child")
	childM, err := r.GetManifest(ctx, "team/app", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	v1, v2, v3 := push("v1", "1"), push("v2", "2"), push("v3", "3")
	dev := push("dev-1", "dev")
	untagged := push("scratch", "u")
	v4 := push("v4", "4")
	for _, tag := range []string{"amd64", "scratch"} {
		if err := r.DeleteManifest(ctx, "team/app", tag); err != nil {
			t.Fatal(err)
		}
	}
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d}]}`,
		registry.MediaTypeOCIIndex, registry.MediaTypeOCIManifest, child, len(childM.Content))
	res, err := r.PutManifest(ctx, "team/app", "multi", registry.MediaTypeOCIIndex, []byte(index), nil)
	if err != nil {
		t.Fatal(err)
	}
	multi := res.Digest
	c.t = start.Add(30 * day)

	text := lcPolicy(
		lcRule(1, `"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2`, lcExpire),
		lcRule(2, `"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7`, lcExpire))
	if _, err := r.PutLifecyclePolicy(ctx, "team/app", text); err != nil {
		t.Fatal(err)
	}
	wantExpired := sortedOf(v1, v2, untagged)

	// Preview the current policy.
	pv, err := r.StartLifecyclePreview(ctx, "team/app", "")
	if err != nil || pv.Status != meta.PreviewInProgress || pv.PolicyText != text {
		t.Fatalf("StartLifecyclePreview = %+v, %v", pv, err)
	}
	r.WaitLifecyclePreviews()
	pv, err = r.GetLifecyclePreview(ctx, "team/app")
	if err != nil || pv.Status != meta.PreviewComplete {
		t.Fatalf("GetLifecyclePreview = %+v, %v", pv, err)
	}
	var previewed []digest.Digest
	for _, res := range pv.Results {
		previewed = append(previewed, res.ImageDigest)
		if res.Action.Type != lifecycle.WireActionExpire {
			t.Errorf("%s: action %+v", res.ImageDigest, res.Action)
		}
		if want := map[digest.Digest]int{v1: 1, v2: 1, untagged: 2}[res.ImageDigest]; res.AppliedRulePriority != want {
			t.Errorf("%s: rule %d, want %d", res.ImageDigest, res.AppliedRulePriority, want)
		}
	}
	if slices.Sort(previewed); !slices.Equal(previewed, wantExpired) {
		t.Fatalf("preview expires %v, want %v", previewed, wantExpired)
	}
	if pv.Summary.ExpiringImageTotalCount != 3 {
		t.Fatalf("summary = %+v", pv.Summary)
	}

	// A draft policy previews without replacing the current one.
	draft := lcPolicy(lcRule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":100`, lcExpire))
	if _, err := r.StartLifecyclePreview(ctx, "team/app", draft); err != nil {
		t.Fatal(err)
	}
	r.WaitLifecyclePreviews()
	pv, err = r.GetLifecyclePreview(ctx, "team/app")
	if err != nil || pv.Status != meta.PreviewComplete || pv.PolicyText != draft || len(pv.Results) != 0 {
		t.Fatalf("draft preview = %+v, %v", pv, err)
	}
	if p, _ := r.GetLifecyclePolicy(ctx, "team/app"); p.Text != text {
		t.Fatal("a draft preview replaced the policy")
	}
	_, err = r.StartLifecyclePreview(ctx, "team/app", "{}")
	wantKind(t, err, registry.KindInvalidParameter)

	// Run it.
	run, err := r.RunLifecycle(ctx, "team/app")
	if err != nil || run.Skipped {
		t.Fatalf("RunLifecycle = %+v, %v", run, err)
	}
	var acted []digest.Digest
	for _, a := range run.Actions {
		if a.Err != nil {
			t.Fatalf("action on %s: %v", a.Digest, a.Err)
		}
		acted = append(acted, a.Digest)
	}
	if slices.Sort(acted); !slices.Equal(acted, wantExpired) {
		t.Fatalf("run expired %v, want %v", acted, wantExpired)
	}
	if got, want := repoDigests(t, r, "team/app"), sortedOf(child, v3, dev, v4, multi); !slices.Equal(got, want) {
		t.Fatalf("remaining images %v, want %v", got, want)
	}
	p, err := r.GetLifecyclePolicy(ctx, "team/app")
	if err != nil || p.LastEvaluatedAt == nil || !p.LastEvaluatedAt.Equal(c.t) {
		t.Fatalf("lastEvaluatedAt = %+v, %v", p, err)
	}
	// A second run finds nothing more to do.
	run, err = r.RunLifecycle(ctx, "team/app")
	if err != nil || len(run.Actions) != 0 {
		t.Fatalf("second run = %+v, %v", run, err)
	}

	// Deleting the index frees the child for the untagged rule.
	if err := r.DeleteManifest(ctx, "team/app", multi.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunLifecycle(ctx, "team/app"); err != nil {
		t.Fatal(err)
	}
	if got, want := repoDigests(t, r, "team/app"), sortedOf(v3, dev, v4); !slices.Equal(got, want) {
		t.Fatalf("remaining after the index went %v, want %v", got, want)
	}
}

// TestLifecycleExpiresIndexWithChildren checks that a list and its children
// expired in one run are deleted list first.
func TestLifecycleExpiresIndexWithChildren(t *testing.T) {
	ctx := context.Background()
	r, c := newCore(t, true)
	child := pushImage(t, r, "team/app", "c", "child")
	childM, _ := r.GetManifest(ctx, "team/app", "c")
	if err := r.DeleteManifest(ctx, "team/app", "c"); err != nil {
		t.Fatal(err)
	}
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d}]}`,
		registry.MediaTypeOCIIndex, registry.MediaTypeOCIManifest, child, len(childM.Content))
	if _, err := r.PutManifest(ctx, "team/app", digest.FromBytes([]byte(index)).String(), registry.MediaTypeOCIIndex, []byte(index), nil); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(10 * day)
	text := lcPolicy(lcRule(1, `"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1`, lcExpire))
	if _, err := r.PutLifecyclePolicy(ctx, "team/app", text); err != nil {
		t.Fatal(err)
	}
	run, err := r.RunLifecycle(ctx, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range run.Actions {
		if a.Err != nil {
			t.Fatalf("action on %s: %v", a.Digest, a.Err)
		}
	}
	if got := repoDigests(t, r, "team/app"); len(got) != 0 {
		t.Fatalf("remaining %v, want none", got)
	}
}

func TestLifecycleLease(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	pushImage(t, r, "team/app", "v1", "a")
	text := lcPolicy(lcRule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5`, lcExpire))
	if _, err := r.PutLifecyclePolicy(ctx, "team/app", text); err != nil {
		t.Fatal(err)
	}
	// Another node is evaluating the repository.
	ok, err := r.AcquireLease(ctx, "lifecycle/team/app", "other-node", time.Hour)
	if err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	run, err := r.RunLifecycleAs(ctx, "team/app", "this-node")
	if err != nil || !run.Skipped {
		t.Fatalf("run under another node's lease = %+v, %v", run, err)
	}
	if p, _ := r.GetLifecyclePolicy(ctx, "team/app"); p.LastEvaluatedAt != nil {
		t.Fatal("a skipped run recorded an evaluation")
	}
	// The holder itself may run, and frees the lease afterwards.
	run, err = r.RunLifecycleAs(ctx, "team/app", "other-node")
	if err != nil || run.Skipped {
		t.Fatalf("holder's run = %+v, %v", run, err)
	}
	run, err = r.RunLifecycleAs(ctx, "team/app", "this-node")
	if err != nil || run.Skipped {
		t.Fatalf("run after release = %+v, %v", run, err)
	}
}

func TestArchiveAndRestore(t *testing.T) {
	ctx := context.Background()
	r, c := newCore(t, true)
	a := pushImage(t, r, "team/app", "a", "a")
	b := pushImage(t, r, "team/app", "b", "b")
	// Pulled once, so the cache holds it.
	if _, err := r.GetManifest(ctx, "team/app", "a"); err != nil {
		t.Fatal(err)
	}
	archivedAt := c.t.Add(time.Hour)
	c.t = archivedAt
	_, st, err := r.UpdateImageStorageClass(ctx, "team/app", registry.ImageID{Tag: "a"}, registry.StorageClassArchive)
	if err != nil || st.Status != meta.ImageStatusArchived || st.LastArchivedAt == nil || !st.LastArchivedAt.Equal(archivedAt) {
		t.Fatalf("archive = %+v, %v", st, err)
	}
	for _, ref := range []string{"a", a.String()} {
		_, err := r.GetManifest(ctx, "team/app", ref)
		wantKind(t, err, registry.KindManifestUnknown)
		if !strings.Contains(err.Error(), "archived") {
			t.Fatalf("message %q does not say the image is archived", err)
		}
	}
	if err := r.CheckPullable(ctx, "team/app", b); err != nil {
		t.Fatalf("b: %v", err)
	}
	// Still listed.
	if got := repoDigests(t, r, "team/app"); !slices.Equal(got, sortedOf(a, b)) {
		t.Fatalf("listed %v", got)
	}
	// Archiving again changes nothing.
	if _, st, err = r.UpdateImageStorageClass(ctx, "team/app", registry.ImageID{Digest: a}, registry.StorageClassArchive); err != nil || !st.LastArchivedAt.Equal(archivedAt) {
		t.Fatalf("archive again = %+v, %v", st, err)
	}
	_, _, err = r.UpdateImageStorageClass(ctx, "team/app", registry.ImageID{Digest: a}, "GLACIER")
	wantKind(t, err, registry.KindInvalidParameter)
	_, _, err = r.UpdateImageStorageClass(ctx, "team/app", registry.ImageID{Tag: "nope"}, registry.StorageClassArchive)
	wantKind(t, err, registry.KindManifestUnknown)

	// Restore: ACTIVATING, then ACTIVE.
	restoredAt := c.t.Add(time.Hour)
	c.t = restoredAt
	_, st, err = r.UpdateImageStorageClass(ctx, "team/app", registry.ImageID{Digest: a}, registry.StorageClassStandard)
	if err != nil || st.Status != meta.ImageStatusActivating {
		t.Fatalf("restore = %+v, %v", st, err)
	}
	r.WaitLifecyclePreviews()
	st, err = r.ImageState(ctx, "team/app", a)
	if err != nil || st.Status != meta.ImageStatusActive || st.LastActivatedAt == nil || !st.LastActivatedAt.Equal(restoredAt) {
		t.Fatalf("restored state = %+v, %v", st, err)
	}
	if _, err := r.GetManifest(ctx, "team/app", "a"); err != nil {
		t.Fatalf("pull after restore: %v", err)
	}
}

func TestLifecycleTransitionThenExpire(t *testing.T) {
	ctx := context.Background()
	r, c := newCore(t, true)
	old := pushImage(t, r, "team/app", "old", "old")
	c.t = c.t.Add(20 * day)
	fresh := pushImage(t, r, "team/app", "fresh", "fresh")
	text := lcPolicy(
		lcRule(1, `"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":5`, lcExpire),
		lcRule(2, `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":10`, lcTransition))
	if _, err := r.PutLifecyclePolicy(ctx, "team/app", text); err != nil {
		t.Fatal(err)
	}
	run, err := r.RunLifecycle(ctx, "team/app")
	if err != nil || len(run.Actions) != 1 || run.Actions[0].Digest != old || run.Actions[0].Action != lifecycle.ActionTransition {
		t.Fatalf("first run = %+v, %v", run, err)
	}
	if st, _ := r.ImageState(ctx, "team/app", old); st.Status != meta.ImageStatusArchived {
		t.Fatalf("old is %s", st.Status)
	}
	if _, err := r.GetManifest(ctx, "team/app", "old"); registry.KindOf(err) != registry.KindManifestUnknown {
		t.Fatalf("archived image pulled: %v", err)
	}
	c.t = c.t.Add(6 * day)
	if _, err := r.RunLifecycle(ctx, "team/app"); err != nil {
		t.Fatal(err)
	}
	if got := repoDigests(t, r, "team/app"); !slices.Equal(got, []digest.Digest{fresh}) {
		t.Fatalf("remaining %v, want only the fresh image", got)
	}
}

func TestPullTimeExclusions(t *testing.T) {
	ctx := context.Background()
	r, c := newCore(t, true)
	d := pushImage(t, r, "team/app", "v1", "a")
	const robot = "arn:aws:iam::123456789012:role/scanner"
	const human = "arn:aws:iam::123456789012:user/alice"
	if err := r.RefreshPullTimeExclusions(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := r.RegisterPullTimeUpdateExclusion(ctx, robot)
	if err != nil || e.PrincipalARN != robot || !e.CreatedAt.Equal(c.t) {
		t.Fatalf("register = %+v, %v", e, err)
	}
	_, err = r.RegisterPullTimeUpdateExclusion(ctx, robot)
	wantKind(t, err, registry.KindExclusionExists)
	err = r.DeregisterPullTimeUpdateExclusion(ctx, human)
	wantKind(t, err, registry.KindExclusionNotFound)

	pulled := func() *time.Time {
		t.Helper()
		if err := r.FlushPulls(ctx); err != nil {
			t.Fatal(err)
		}
		img, err := r.FindImage(ctx, "team/app", registry.ImageID{Digest: d})
		if err != nil {
			t.Fatal(err)
		}
		return img.LastPulledAt
	}
	r.RecordPullBy("team/app", d, robot)
	if got := pulled(); got != nil {
		t.Fatalf("excluded pull recorded at %v", got)
	}
	r.RecordPullBy("team/app", d, human)
	if got := pulled(); got == nil || !got.Equal(c.t) {
		t.Fatalf("pull time = %v, want %v", got, c.t)
	}

	if _, err := r.RegisterPullTimeUpdateExclusion(ctx, human); err != nil {
		t.Fatal(err)
	}
	arns, next, err := r.ListPullTimeUpdateExclusions(ctx, "", 1)
	if err != nil || !slices.Equal(arns, []string{robot}) || next != robot {
		t.Fatalf("page 1 = %v, %q, %v", arns, next, err)
	}
	arns, next, err = r.ListPullTimeUpdateExclusions(ctx, next, 1)
	if err != nil || !slices.Equal(arns, []string{human}) || next != "" {
		t.Fatalf("page 2 = %v, %q, %v", arns, next, err)
	}
	if err := r.DeregisterPullTimeUpdateExclusion(ctx, robot); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Hour)
	r.RecordPullBy("team/app", d, robot)
	if got := pulled(); got == nil || !got.Equal(c.t) {
		t.Fatalf("pull after deregistering = %v, want %v", got, c.t)
	}
}
