package metatest

import (
	"slices"
	"testing"

	"github.com/berth-registry/berth/internal/meta"
)

// testIAM covers meta.IAM: users, keys, inline and attached policies,
// groups, case-insensitive names, existence and uniqueness errors, and
// the same calls inside a transaction.
func testIAM(t *testing.T, s meta.Store) {
	ctx := t.Context()
	alice := &meta.IAMUser{Name: "Alice", Path: "/eng/", UserID: "AIDAALICE000000000001", CreatedAt: ts(1)}
	must(t, s.CreateIAMUser(ctx, alice))
	wantErr(t, s.CreateIAMUser(ctx, &meta.IAMUser{Name: "alice", Path: "/", UserID: "AIDAOTHER", CreatedAt: ts(2)}), meta.ErrExists)
	must(t, s.CreateIAMUser(ctx, &meta.IAMUser{Name: "bob", Path: "/", UserID: "AIDABOB", CreatedAt: ts(2)}))
	must(t, s.CreateIAMUser(ctx, &meta.IAMUser{Name: "carol", Path: "/eng/x/", UserID: "AIDACAROL", CreatedAt: ts(3)}))

	u, err := s.GetIAMUser(ctx, "ALICE")
	must(t, err)
	if *u != *alice {
		t.Fatalf("GetIAMUser = %+v, want %+v", u, alice)
	}
	if u, err = s.GetIAMUserByID(ctx, "AIDABOB"); err != nil || u.Name != "bob" {
		t.Fatalf("GetIAMUserByID = %+v, %v", u, err)
	}
	_, err = s.GetIAMUser(ctx, "nobody")
	wantErr(t, err, meta.ErrNotFound)
	_, err = s.GetIAMUserByID(ctx, "AIDANOBODY")
	wantErr(t, err, meta.ErrNotFound)

	names := func(us []meta.IAMUser) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Name)
		}
		return out
	}
	for _, c := range []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"/", "", 100, []string{"Alice", "bob", "carol"}},
		{"/", "", 2, []string{"Alice", "bob"}},
		{"/", "bob", 100, []string{"carol"}},
		{"/", "ALICE", 100, []string{"bob", "carol"}},
		{"/eng/", "", 100, []string{"Alice", "carol"}},
		{"/eng/x/", "", 100, []string{"carol"}},
		{"/none/", "", 100, nil},
	} {
		us, err := s.ListIAMUsers(ctx, c.prefix, c.after, c.limit)
		must(t, err)
		if got := names(us); !slices.Equal(got, c.want) {
			t.Fatalf("ListIAMUsers(%q, %q, %d) = %v, want %v", c.prefix, c.after, c.limit, got, c.want)
		}
	}

	// Access keys.
	k1 := &meta.IAMAccessKey{ID: "AKIAKEY1", UserName: "alice", SealedSecret: []byte{1, 2, 3}, Status: "Active", CreatedAt: ts(4)}
	must(t, s.CreateIAMAccessKey(ctx, k1))
	must(t, s.CreateIAMAccessKey(ctx, &meta.IAMAccessKey{ID: "AKIAKEY2", UserName: "Alice", SealedSecret: []byte{4}, Status: "Active", CreatedAt: ts(5)}))
	wantErr(t, s.CreateIAMAccessKey(ctx, &meta.IAMAccessKey{ID: "AKIAKEY1", UserName: "bob", SealedSecret: []byte{4}, Status: "Active", CreatedAt: ts(5)}), meta.ErrExists)
	wantErr(t, s.CreateIAMAccessKey(ctx, &meta.IAMAccessKey{ID: "AKIAKEY9", UserName: "nobody", SealedSecret: []byte{4}, Status: "Active", CreatedAt: ts(5)}), meta.ErrNotFound)
	k, err := s.GetIAMAccessKey(ctx, "AKIAKEY1")
	must(t, err)
	if k.UserName != "Alice" || k.Status != "Active" || !slices.Equal(k.SealedSecret, k1.SealedSecret) || !k.CreatedAt.Equal(ts(4)) {
		t.Fatalf("GetIAMAccessKey = %+v", k)
	}
	must(t, s.UpdateIAMAccessKeyStatus(ctx, "AKIAKEY1", "Inactive"))
	wantErr(t, s.UpdateIAMAccessKeyStatus(ctx, "AKIANONE", "Inactive"), meta.ErrNotFound)
	keys, err := s.ListIAMAccessKeys(ctx, "alice")
	must(t, err)
	if len(keys) != 2 || keys[0].ID != "AKIAKEY1" || keys[0].Status != "Inactive" || keys[1].ID != "AKIAKEY2" {
		t.Fatalf("ListIAMAccessKeys = %+v", keys)
	}
	must(t, s.DeleteIAMAccessKey(ctx, "AKIAKEY2"))
	wantErr(t, s.DeleteIAMAccessKey(ctx, "AKIAKEY2"), meta.ErrNotFound)
	_, err = s.GetIAMAccessKey(ctx, "AKIAKEY2")
	wantErr(t, err, meta.ErrNotFound)

	// Inline policies, user and group.
	must(t, s.PutIAMInlinePolicy(ctx, &meta.IAMInlinePolicy{OwnerKind: meta.IAMOwnerUser, Owner: "alice", Name: "p1", Document: "doc1"}))
	must(t, s.PutIAMInlinePolicy(ctx, &meta.IAMInlinePolicy{OwnerKind: meta.IAMOwnerUser, Owner: "alice", Name: "p1", Document: "doc1b"}))
	must(t, s.PutIAMInlinePolicy(ctx, &meta.IAMInlinePolicy{OwnerKind: meta.IAMOwnerUser, Owner: "alice", Name: "p0", Document: "doc0"}))
	wantErr(t, s.PutIAMInlinePolicy(ctx, &meta.IAMInlinePolicy{OwnerKind: meta.IAMOwnerUser, Owner: "nobody", Name: "p1", Document: "d"}), meta.ErrNotFound)
	p, err := s.GetIAMInlinePolicy(ctx, meta.IAMOwnerUser, "ALICE", "p1")
	must(t, err)
	if p.Document != "doc1b" || p.Owner != "Alice" {
		t.Fatalf("GetIAMInlinePolicy = %+v", p)
	}
	_, err = s.GetIAMInlinePolicy(ctx, meta.IAMOwnerUser, "alice", "P1")
	wantErr(t, err, meta.ErrNotFound)
	ps, err := s.ListIAMInlinePolicies(ctx, meta.IAMOwnerUser, "alice")
	must(t, err)
	if len(ps) != 2 || ps[0].Name != "p0" || ps[1].Name != "p1" {
		t.Fatalf("ListIAMInlinePolicies = %+v", ps)
	}
	must(t, s.DeleteIAMInlinePolicy(ctx, meta.IAMOwnerUser, "alice", "p0"))
	wantErr(t, s.DeleteIAMInlinePolicy(ctx, meta.IAMOwnerUser, "alice", "p0"), meta.ErrNotFound)

	// Attached policies.
	const arn = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
	must(t, s.AttachIAMUserPolicy(ctx, "alice", arn))
	must(t, s.AttachIAMUserPolicy(ctx, "Alice", arn)) // idempotent
	wantErr(t, s.AttachIAMUserPolicy(ctx, "nobody", arn), meta.ErrNotFound)
	arns, err := s.ListIAMAttachedUserPolicies(ctx, "alice")
	must(t, err)
	if !slices.Equal(arns, []string{arn}) {
		t.Fatalf("ListIAMAttachedUserPolicies = %v", arns)
	}
	must(t, s.DetachIAMUserPolicy(ctx, "alice", arn))
	wantErr(t, s.DetachIAMUserPolicy(ctx, "alice", arn), meta.ErrNotFound)

	// Groups.
	must(t, s.CreateIAMGroup(ctx, &meta.IAMGroup{Name: "Devs", Path: "/", GroupID: "AGPADEVS", CreatedAt: ts(6)}))
	wantErr(t, s.CreateIAMGroup(ctx, &meta.IAMGroup{Name: "devs", Path: "/", GroupID: "AGPAOTHER", CreatedAt: ts(6)}), meta.ErrExists)
	g, err := s.GetIAMGroup(ctx, "DEVS")
	must(t, err)
	if g.Name != "Devs" || g.GroupID != "AGPADEVS" || !g.CreatedAt.Equal(ts(6)) {
		t.Fatalf("GetIAMGroup = %+v", g)
	}
	must(t, s.AddIAMUserToGroup(ctx, "devs", "alice"))
	must(t, s.AddIAMUserToGroup(ctx, "devs", "alice"))
	must(t, s.AddIAMUserToGroup(ctx, "devs", "bob"))
	wantErr(t, s.AddIAMUserToGroup(ctx, "devs", "nobody"), meta.ErrNotFound)
	wantErr(t, s.AddIAMUserToGroup(ctx, "nogroup", "bob"), meta.ErrNotFound)
	members, err := s.ListIAMGroupMembers(ctx, "devs")
	must(t, err)
	if !slices.Equal(members, []string{"Alice", "bob"}) {
		t.Fatalf("ListIAMGroupMembers = %v", members)
	}
	gs, err := s.ListIAMGroupsForUser(ctx, "alice")
	must(t, err)
	if len(gs) != 1 || gs[0].Name != "Devs" {
		t.Fatalf("ListIAMGroupsForUser = %+v", gs)
	}
	must(t, s.PutIAMInlinePolicy(ctx, &meta.IAMInlinePolicy{OwnerKind: meta.IAMOwnerGroup, Owner: "devs", Name: "gp", Document: "gdoc"}))
	wantErr(t, s.PutIAMInlinePolicy(ctx, &meta.IAMInlinePolicy{OwnerKind: meta.IAMOwnerGroup, Owner: "nogroup", Name: "gp", Document: "gdoc"}), meta.ErrNotFound)
	gps, err := s.ListIAMInlinePolicies(ctx, meta.IAMOwnerGroup, "devs")
	must(t, err)
	if len(gps) != 1 || gps[0].Document != "gdoc" || gps[0].Owner != "Devs" {
		t.Fatalf("group policies = %+v", gps)
	}
	must(t, s.RemoveIAMUserFromGroup(ctx, "devs", "bob"))
	wantErr(t, s.RemoveIAMUserFromGroup(ctx, "devs", "bob"), meta.ErrNotFound)

	// A transaction sees and rolls back IAM writes like any other.
	errBoom := errorString("boom")
	err = s.InTx(ctx, func(q meta.Queries) error {
		must(t, q.DeleteIAMUser(ctx, "carol"))
		if _, err := q.GetIAMUser(ctx, "carol"); err == nil {
			t.Error("deleted user visible in its transaction")
		}
		return errBoom
	})
	wantErr(t, err, errBoom)
	_, err = s.GetIAMUser(ctx, "carol")
	must(t, err)
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		must(t, q.DeleteIAMInlinePolicy(ctx, meta.IAMOwnerGroup, "devs", "gp"))
		must(t, q.RemoveIAMUserFromGroup(ctx, "devs", "alice"))
		return q.DeleteIAMGroup(ctx, "devs")
	}))
	_, err = s.GetIAMGroup(ctx, "devs")
	wantErr(t, err, meta.ErrNotFound)
	must(t, s.DeleteIAMUser(ctx, "carol"))
	wantErr(t, s.DeleteIAMUser(ctx, "carol"), meta.ErrNotFound)
}

type errorString string

func (e errorString) Error() string { return string(e) }
