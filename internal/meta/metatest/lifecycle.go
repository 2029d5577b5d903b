package metatest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// testLifecycle covers meta.LifecycleQueries: policies, previews, image
// states, leases and pull-time exclusions, directly and inside InTx.
func testLifecycle(t *testing.T, s meta.Store) {
	t.Run("Policies", func(t *testing.T) { testLifecyclePolicies(t, s) })
	t.Run("Previews", func(t *testing.T) { testLifecyclePreviews(t, s) })
	t.Run("ImageStates", func(t *testing.T) { testImageStates(t, s) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, s) })
	t.Run("PullTimeExclusions", func(t *testing.T) { testPullTimeExclusions(t, s) })
}

func testLifecyclePolicies(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "lc/a")
	createRepo(t, s, "lc/b")

	_, err := s.GetLifecyclePolicy(ctx, "lc/a")
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.DeleteLifecyclePolicy(ctx, "lc/a"), meta.ErrNotFound)
	wantErr(t, s.SetLifecycleEvaluated(ctx, "lc/a", ts(5)), meta.ErrNotFound)
	wantErr(t, s.PutLifecyclePolicy(ctx, &meta.LifecyclePolicy{Repository: "missing", Text: "{}", UpdatedAt: ts(1)}), meta.ErrNotFound)

	must(t, s.PutLifecyclePolicy(ctx, &meta.LifecyclePolicy{Repository: "lc/a", Text: `{"rules":[1]}`, UpdatedAt: ts(1)}))
	p, err := s.GetLifecyclePolicy(ctx, "lc/a")
	must(t, err)
	if p.Repository != "lc/a" || p.Text != `{"rules":[1]}` || !p.UpdatedAt.Equal(ts(1)) || p.LastEvaluatedAt != nil {
		t.Fatalf("GetLifecyclePolicy = %+v", p)
	}
	must(t, s.SetLifecycleEvaluated(ctx, "lc/a", ts(7)))
	// Replacing the text keeps the evaluation time.
	must(t, s.PutLifecyclePolicy(ctx, &meta.LifecyclePolicy{Repository: "lc/a", Text: `{"rules":[2]}`, UpdatedAt: ts(8)}))
	p, err = s.GetLifecyclePolicy(ctx, "lc/a")
	must(t, err)
	if p.Text != `{"rules":[2]}` || !p.UpdatedAt.Equal(ts(8)) || p.LastEvaluatedAt == nil || !p.LastEvaluatedAt.Equal(ts(7)) {
		t.Fatalf("after replace: %+v", p)
	}

	must(t, s.InTx(ctx, func(q meta.Queries) error {
		return q.PutLifecyclePolicy(ctx, &meta.LifecyclePolicy{Repository: "lc/b", Text: "b", UpdatedAt: ts(2)})
	}))
	ps, err := s.ListLifecyclePolicies(ctx, "", 0)
	must(t, err)
	if len(ps) != 2 || ps[0].Repository != "lc/a" || ps[1].Repository != "lc/b" {
		t.Fatalf("ListLifecyclePolicies = %+v", ps)
	}
	ps, err = s.ListLifecyclePolicies(ctx, "lc/a", 1)
	must(t, err)
	if len(ps) != 1 || ps[0].Repository != "lc/b" {
		t.Fatalf("ListLifecyclePolicies after lc/a = %+v", ps)
	}

	must(t, s.DeleteLifecyclePolicy(ctx, "lc/a"))
	_, err = s.GetLifecyclePolicy(ctx, "lc/a")
	wantErr(t, err, meta.ErrNotFound)
	// Deleting the repository deletes its policy.
	must(t, s.DeleteRepository(ctx, "lc/b"))
	ps, err = s.ListLifecyclePolicies(ctx, "", 0)
	must(t, err)
	if len(ps) != 0 {
		t.Fatalf("policies after deletes = %+v", ps)
	}
}

func testLifecyclePreviews(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "pv")
	_, err := s.GetLifecyclePreview(ctx, "pv")
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.StartLifecyclePreview(ctx, &meta.LifecyclePreview{Repository: "missing", Status: meta.PreviewInProgress, StartedAt: ts(1), UpdatedAt: ts(1)}, ts(0)), meta.ErrNotFound)

	first := &meta.LifecyclePreview{Repository: "pv", Status: meta.PreviewInProgress, PolicyText: "p1", StartedAt: ts(10), UpdatedAt: ts(10)}
	must(t, s.StartLifecyclePreview(ctx, first, ts(0)))
	// One at a time: a second start while the first is in progress and fresh fails.
	second := &meta.LifecyclePreview{Repository: "pv", Status: meta.PreviewInProgress, PolicyText: "p2", StartedAt: ts(11), UpdatedAt: ts(11)}
	wantErr(t, s.StartLifecyclePreview(ctx, second, ts(5)), meta.ErrExists)
	got, err := s.GetLifecyclePreview(ctx, "pv")
	must(t, err)
	if got.Status != meta.PreviewInProgress || got.PolicyText != "p1" || !got.StartedAt.Equal(ts(10)) || len(got.Results) != 0 {
		t.Fatalf("preview = %+v", got)
	}

	// Finishing a replaced preview reports ErrNotFound.
	wantErr(t, s.FinishLifecyclePreview(ctx, &meta.LifecyclePreview{Repository: "pv", Status: meta.PreviewComplete, StartedAt: ts(9), UpdatedAt: ts(12)}), meta.ErrNotFound)
	must(t, s.FinishLifecyclePreview(ctx, &meta.LifecyclePreview{Repository: "pv", Status: meta.PreviewComplete, Results: []byte(`{"r":1}`), StartedAt: ts(10), UpdatedAt: ts(12)}))
	got, err = s.GetLifecyclePreview(ctx, "pv")
	must(t, err)
	if got.Status != meta.PreviewComplete || string(got.Results) != `{"r":1}` || !got.UpdatedAt.Equal(ts(12)) || got.PolicyText != "p1" {
		t.Fatalf("finished preview = %+v", got)
	}

	// A finished preview is replaced by the next start.
	must(t, s.StartLifecyclePreview(ctx, second, ts(5)))
	// An in-progress preview last updated before staleBefore is abandoned (its node died).
	third := &meta.LifecyclePreview{Repository: "pv", Status: meta.PreviewInProgress, PolicyText: "p3", StartedAt: ts(20), UpdatedAt: ts(20)}
	must(t, s.StartLifecyclePreview(ctx, third, ts(15)))
	got, err = s.GetLifecyclePreview(ctx, "pv")
	must(t, err)
	if got.PolicyText != "p3" || len(got.Results) != 0 {
		t.Fatalf("restarted preview = %+v", got)
	}
}

func testImageStates(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "st")
	a := putManifest(t, s, "st", "a")
	b := putManifest(t, s, "st", "b")

	_, err := s.GetImageState(ctx, "st", a.Digest)
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.SetImageState(ctx, &meta.ImageState{Repository: "st", Digest: digest.FromString("nope"), Status: meta.ImageStatusArchived}), meta.ErrNotFound)

	archived := ts(100)
	must(t, s.SetImageState(ctx, &meta.ImageState{Repository: "st", Digest: a.Digest, Status: meta.ImageStatusArchived, LastArchivedAt: &archived}))
	st, err := s.GetImageState(ctx, "st", a.Digest)
	must(t, err)
	if st.Status != meta.ImageStatusArchived || st.LastArchivedAt == nil || !st.LastArchivedAt.Equal(archived) || st.LastActivatedAt != nil || st.Digest != a.Digest {
		t.Fatalf("state = %+v", st)
	}
	activated := ts(200)
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		return q.SetImageState(ctx, &meta.ImageState{Repository: "st", Digest: a.Digest, Status: meta.ImageStatusActive, LastArchivedAt: &archived, LastActivatedAt: &activated})
	}))
	must(t, s.SetImageState(ctx, &meta.ImageState{Repository: "st", Digest: b.Digest, Status: meta.ImageStatusActivating, LastArchivedAt: &archived}))
	all, err := s.ListImageStates(ctx, "st")
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("ListImageStates = %+v", all)
	}
	for _, st := range all {
		switch st.Digest {
		case a.Digest:
			if st.Status != meta.ImageStatusActive || st.LastActivatedAt == nil || !st.LastActivatedAt.Equal(activated) {
				t.Fatalf("state of a = %+v", st)
			}
		case b.Digest:
			if st.Status != meta.ImageStatusActivating {
				t.Fatalf("state of b = %+v", st)
			}
		default:
			t.Fatalf("unexpected state %+v", st)
		}
	}
	// The state goes with its manifest.
	must(t, s.DeleteManifest(ctx, "st", a.Digest))
	_, err = s.GetImageState(ctx, "st", a.Digest)
	wantErr(t, err, meta.ErrNotFound)
	must(t, s.DeleteRepository(ctx, "st"))
	all, err = s.ListImageStates(ctx, "st")
	must(t, err)
	if len(all) != 0 {
		t.Fatalf("states after repository delete = %+v", all)
	}
}

func testLeases(t *testing.T, s meta.Store) {
	ctx := t.Context()
	ok, err := s.AcquireLease(ctx, "l", "n1", ts(0), ts(10))
	must(t, err)
	if !ok {
		t.Fatal("free lease not acquired")
	}
	if ok, err = s.AcquireLease(ctx, "l", "n2", ts(5), ts(15)); err != nil || ok {
		t.Fatalf("held lease acquired by another holder: %v, %v", ok, err)
	}
	if ok, err = s.AcquireLease(ctx, "l", "n1", ts(5), ts(20)); err != nil || !ok {
		t.Fatalf("holder's renewal: %v, %v", ok, err)
	}
	if ok, err = s.AcquireLease(ctx, "l", "n2", ts(19), ts(30)); err != nil || ok {
		t.Fatalf("renewed lease taken before expiry: %v, %v", ok, err)
	}
	if ok, err = s.AcquireLease(ctx, "l", "n2", ts(20), ts(30)); err != nil || !ok {
		t.Fatalf("expired lease not taken: %v, %v", ok, err)
	}
	// Releasing a lease one does not hold is a no-op.
	must(t, s.ReleaseLease(ctx, "l", "n1"))
	if ok, err = s.AcquireLease(ctx, "l", "n1", ts(21), ts(30)); err != nil || ok {
		t.Fatalf("lease taken after a non-holder's release: %v, %v", ok, err)
	}
	must(t, s.ReleaseLease(ctx, "l", "n2"))
	if ok, err = s.AcquireLease(ctx, "l", "n1", ts(21), ts(30)); err != nil || !ok {
		t.Fatalf("released lease not taken: %v, %v", ok, err)
	}
	// Other names are independent.
	if ok, err = s.AcquireLease(ctx, "other", "n2", ts(21), ts(30)); err != nil || !ok {
		t.Fatalf("independent lease: %v, %v", ok, err)
	}

	// Concurrent acquirers: exactly one wins.
	const n = 8
	var wg sync.WaitGroup
	wins := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wins[i], errs[i] = s.AcquireLease(ctx, "race", string(rune('a'+i)), ts(0), ts(100))
		}()
	}
	wg.Wait()
	won := 0
	for i := range n {
		if errs[i] != nil && !errors.Is(errs[i], meta.ErrConflict) {
			t.Fatalf("acquirer %d: %v", i, errs[i])
		}
		if wins[i] {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d acquirers won the lease, want 1", won)
	}
}

func testPullTimeExclusions(t *testing.T, s meta.Store) {
	ctx := t.Context()
	arns := []string{"arn:aws:iam::123456789012:user/b", "arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:user/c"}
	for i, arn := range arns {
		must(t, s.CreatePullTimeExclusion(ctx, &meta.PullTimeExclusion{PrincipalARN: arn, CreatedAt: ts(int64(i))}))
	}
	wantErr(t, s.CreatePullTimeExclusion(ctx, &meta.PullTimeExclusion{PrincipalARN: arns[0], CreatedAt: ts(9)}), meta.ErrExists)
	all, err := s.ListPullTimeExclusions(ctx, "", 0)
	must(t, err)
	var names []string
	for _, e := range all {
		names = append(names, e.PrincipalARN)
	}
	want := slices.Sorted(slices.Values(arns))
	if !slices.Equal(names, want) {
		t.Fatalf("ListPullTimeExclusions = %q, want %q", names, want)
	}
	if !all[1].CreatedAt.Equal(ts(0)) {
		t.Fatalf("createdAt = %v", all[1].CreatedAt)
	}
	page, err := s.ListPullTimeExclusions(ctx, want[0], 1)
	must(t, err)
	if len(page) != 1 || page[0].PrincipalARN != want[1] {
		t.Fatalf("page = %+v", page)
	}
	wantErr(t, s.DeletePullTimeExclusion(ctx, "arn:aws:iam::123456789012:user/none"), meta.ErrNotFound)
	must(t, s.DeletePullTimeExclusion(ctx, arns[0]))
	all, err = s.ListPullTimeExclusions(ctx, "", 0)
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("after delete = %+v", all)
	}
}
