package metatest

import (
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// testScan covers meta.ScanQueries: the scan queue, results, the
// vulnerability database and scan events, directly and inside InTx.
func testScan(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "sc")
	a := putManifest(t, s, "sc", "a")
	b := putManifest(t, s, "sc", "b")

	// Queue: idempotent enqueue, oldest first, leases, missing manifest.
	wantErr(t, s.EnqueueScan(ctx, "sc", digest.FromString("nope"), ts(1)), meta.ErrNotFound)
	must(t, s.EnqueueScan(ctx, "sc", b.Digest, ts(1)))
	must(t, s.EnqueueScan(ctx, "sc", a.Digest, ts(2)))
	must(t, s.EnqueueScan(ctx, "sc", b.Digest, ts(3)))
	j, err := s.ClaimScan(ctx, ts(10), ts(20))
	must(t, err)
	if j.Repository != "sc" || j.Digest != b.Digest || !j.EnqueuedAt.Equal(ts(1)) || !j.LeaseUntil.Equal(ts(20)) || j.Attempts != 1 {
		t.Fatalf("first claim = %+v", j)
	}
	j, err = s.ClaimScan(ctx, ts(10), ts(20))
	must(t, err)
	if j.Digest != a.Digest {
		t.Fatalf("second claim = %+v", j)
	}
	_, err = s.ClaimScan(ctx, ts(11), ts(21))
	wantErr(t, err, meta.ErrNotFound)
	// An expired lease makes the job claimable again.
	j, err = s.ClaimScan(ctx, ts(20), ts(30))
	must(t, err)
	if j.Digest != b.Digest || j.Attempts != 2 {
		t.Fatalf("reclaim = %+v", j)
	}
	must(t, s.DeleteScanJob(ctx, "sc", b.Digest))
	must(t, s.DeleteScanJob(ctx, "sc", b.Digest))
	must(t, s.InTx(ctx, func(q meta.Queries) error { return q.DeleteScanJob(ctx, "sc", a.Digest) }))
	_, err = s.ClaimScan(ctx, ts(100), ts(200))
	wantErr(t, err, meta.ErrNotFound)

	// Results.
	_, err = s.GetScanResult(ctx, "sc", a.Digest)
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.PutScanResult(ctx, &meta.ScanResult{Repository: "sc", Digest: digest.FromString("nope"), Status: "IN_PROGRESS"}), meta.ErrNotFound)
	must(t, s.PutScanResult(ctx, &meta.ScanResult{Repository: "sc", Digest: a.Digest, Status: "IN_PROGRESS", StartedAt: ts(5), RequestedManually: true}))
	r, err := s.GetScanResult(ctx, "sc", a.Digest)
	must(t, err)
	if r.Status != "IN_PROGRESS" || !r.StartedAt.Equal(ts(5)) || !r.RequestedManually || r.CompletedAt != nil || len(r.Findings) != 0 {
		t.Fatalf("result = %+v", r)
	}
	done := ts(6)
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		return q.PutScanResult(ctx, &meta.ScanResult{Repository: "sc", Digest: a.Digest, Status: "COMPLETE", Description: "ok",
			StartedAt: ts(5), CompletedAt: &done, Packages: []byte(`[1]`), Findings: []byte(`[2]`), SourceUpdatedAt: ts(4)})
	}))
	must(t, s.PutScanResult(ctx, &meta.ScanResult{Repository: "sc", Digest: b.Digest, Status: "UNSUPPORTED_IMAGE", StartedAt: ts(7)}))
	r, err = s.GetScanResult(ctx, "sc", a.Digest)
	must(t, err)
	if r.Status != "COMPLETE" || r.Description != "ok" || r.RequestedManually || r.CompletedAt == nil || !r.CompletedAt.Equal(done) ||
		string(r.Packages) != `[1]` || string(r.Findings) != `[2]` || !r.SourceUpdatedAt.Equal(ts(4)) {
		t.Fatalf("completed result = %+v", r)
	}
	rs, err := s.ListScanResults(ctx, "", "", 0)
	must(t, err)
	if len(rs) != 2 {
		t.Fatalf("ListScanResults = %+v", rs)
	}
	rs, err = s.ListScanResults(ctx, rs[0].Repository, rs[0].Digest, 5)
	must(t, err)
	if len(rs) != 1 {
		t.Fatalf("ListScanResults after first = %+v", rs)
	}
	// Results and jobs go with the manifest.
	must(t, s.EnqueueScan(ctx, "sc", b.Digest, ts(8)))
	must(t, s.DeleteManifest(ctx, "sc", b.Digest))
	_, err = s.GetScanResult(ctx, "sc", b.Digest)
	wantErr(t, err, meta.ErrNotFound)
	_, err = s.ClaimScan(ctx, ts(100), ts(200))
	wantErr(t, err, meta.ErrNotFound)

	// Vulnerability database: replace keeps one copy and its current keys.
	must(t, s.PutVulnerability(ctx, &meta.Vulnerability{ID: "CVE-2", Modified: ts(1), Data: []byte(`{"id":"CVE-2"}`),
		Affected: []meta.VulnPackage{{Ecosystem: "Debian:12", Name: "openssl"}, {Ecosystem: "Alpine:v3.20", Name: "openssl"}}}))
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		return q.PutVulnerability(ctx, &meta.Vulnerability{ID: "CVE-1", Modified: ts(1), Data: []byte(`{"id":"CVE-1"}`),
			Affected: []meta.VulnPackage{{Ecosystem: "Debian:12", Name: "openssl"}}})
	}))
	vs, err := s.VulnerabilitiesFor(ctx, "Debian:12", "openssl")
	must(t, err)
	if len(vs) != 2 || vs[0].ID != "CVE-1" || vs[1].ID != "CVE-2" || string(vs[1].Data) != `{"id":"CVE-2"}` || !vs[1].Modified.Equal(ts(1)) {
		t.Fatalf("VulnerabilitiesFor = %+v", vs)
	}
	must(t, s.PutVulnerability(ctx, &meta.Vulnerability{ID: "CVE-2", Modified: ts(2), Data: []byte(`{"id":"CVE-2","v":2}`),
		Affected: []meta.VulnPackage{{Ecosystem: "Alpine:v3.20", Name: "openssl"}}}))
	vs, err = s.VulnerabilitiesFor(ctx, "Debian:12", "openssl")
	must(t, err)
	if len(vs) != 1 || vs[0].ID != "CVE-1" {
		t.Fatalf("after replace, Debian = %+v", vs)
	}
	vs, err = s.VulnerabilitiesFor(ctx, "Alpine:v3.20", "openssl")
	must(t, err)
	if len(vs) != 1 || string(vs[0].Data) != `{"id":"CVE-2","v":2}` || !vs[0].Modified.Equal(ts(2)) {
		t.Fatalf("after replace, Alpine = %+v", vs)
	}
	vs, err = s.VulnerabilitiesFor(ctx, "Go", "nothing")
	must(t, err)
	if len(vs) != 0 {
		t.Fatalf("unknown package = %+v", vs)
	}

	// Events.
	e1 := &meta.ScanEvent{Repository: "sc", Digest: a.Digest, Status: "COMPLETE", Counts: []byte(`{"HIGH":1}`), At: ts(9)}
	must(t, s.AddScanEvent(ctx, e1))
	e2 := &meta.ScanEvent{Repository: "sc", Digest: a.Digest, Status: "FAILED", At: ts(10)}
	must(t, s.InTx(ctx, func(q meta.Queries) error { return q.AddScanEvent(ctx, e2) }))
	if e1.ID <= 0 || e2.ID <= e1.ID {
		t.Fatalf("event ids %d, %d", e1.ID, e2.ID)
	}
	es, err := s.ListScanEvents(ctx, 0, 0)
	must(t, err)
	if len(es) != 2 || es[0].ID != e1.ID || es[0].Status != "COMPLETE" || string(es[0].Counts) != `{"HIGH":1}` || !es[0].At.Equal(ts(9)) || es[1].Digest != a.Digest {
		t.Fatalf("ListScanEvents = %+v", es)
	}
	es, err = s.ListScanEvents(ctx, e1.ID, 1)
	must(t, err)
	if len(es) != 1 || es[0].ID != e2.ID {
		t.Fatalf("ListScanEvents after first = %+v", es)
	}
}
