package identity

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/meta/sqlite"
	"github.com/berth-registry/berth/internal/policy"
)

func TestValidateName(t *testing.T) {
	cases := []struct {
		value string
		max   int
		ok    bool
	}{
		{"alice", 64, true},
		{"a", 64, true},
		{"A_b+c=d,e.f@g-h", 64, true},
		{strings.Repeat("a", 64), 64, true},
		{strings.Repeat("a", 65), 64, false},
		{strings.Repeat("a", 128), 128, true},
		{"", 64, false},
		{"has space", 64, false},
		{"slash/name", 64, false},
		{"ünïcode", 64, false},
		{"semi;colon", 64, false},
		{"star*", 64, false},
	}
	for _, c := range cases {
		err := validateName(c.value, "userName", c.max)
		if (err == nil) != c.ok {
			t.Errorf("validateName(%q, %d) = %v, want ok=%v", c.value, c.max, err, c.ok)
		}
		var ie *IAMError
		if err != nil && (!errors.As(err, &ie) || ie.Code != CodeValidationError || !strings.Contains(ie.Message, "'userName'")) {
			t.Errorf("validateName(%q) error = %v, want a ValidationError naming userName", c.value, err)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"", "/", true},
		{"/", "/", true},
		{"/eng/", "/eng/", true},
		{"/a/b/c/", "/a/b/c/", true},
		{"eng/", "", false},
		{"/eng", "", false},
		{"/with space/", "", false},
		{"/" + strings.Repeat("a", 511), "", false},
		{"/" + strings.Repeat("a", 510) + "/", "/" + strings.Repeat("a", 510) + "/", true},
		{"/tab\t/", "", false},
	}
	for _, c := range cases {
		got, err := NormalizePath(c.in, "path")
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestValidateKeyID(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"AKIAABCDEFGHIJKLMNOP", true},
		{"AKIA_123456789012345", true},
		{"AKIASHORT", false},
		{strings.Repeat("A", 129), false},
		{"AKIA-BCDEFGHIJKLMNOP", false},
	}
	for _, c := range cases {
		if err := validateKeyID(c.in); (err == nil) != c.ok {
			t.Errorf("validateKeyID(%q) = %v, want ok=%v", c.in, err, c.ok)
		}
	}
}

func TestManagedPolicy(t *testing.T) {
	cases := []struct {
		arn, code string
	}{
		{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly", ""},
		{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser", ""},
		{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess", ""},
		{"arn:aws:iam::aws:policy/AdministratorAccess", CodeNoSuchEntity},
		{"arn:aws:iam::123456789012:policy/AmazonEC2ContainerRegistryReadOnly", CodeNoSuchEntity},
		{"arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerRegistryReadOnly", CodeNoSuchEntity},
		{"AmazonEC2ContainerRegistryReadOnly", CodeInvalidInput},
		{"arn:short", CodeInvalidInput},
	}
	for _, c := range cases {
		mp, err := managedPolicy(c.arn)
		var ie *IAMError
		switch {
		case c.code == "" && err != nil:
			t.Errorf("managedPolicy(%q): %v", c.arn, err)
		case c.code == "" && mp.Document != policy.ManagedPolicies[mp.Name]:
			t.Errorf("managedPolicy(%q) document mismatch", c.arn)
		case c.code != "" && (!errors.As(err, &ie) || ie.Code != c.code):
			t.Errorf("managedPolicy(%q) = %v, want %s", c.arn, err, c.code)
		}
	}
}

func TestValidatePolicy(t *testing.T) {
	ok := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}`
	cases := []struct {
		name, doc, code string
	}{
		{"valid", ok, ""},
		{"empty", "", CodeValidationError},
		{"syntax", "{", CodeMalformedPolicyDocument},
		{"principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"}]}`, CodeMalformedPolicyDocument},
		{"bad effect", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"ecr:*","Resource":"*"}]}`, CodeMalformedPolicyDocument},
		{"too large", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"` + strings.Repeat("a", 3000) + `"}]}`, CodeLimitExceeded},
		{"whitespace does not count", strings.Replace(ok, ":", ":"+strings.Repeat(" ", 3000), 1), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := validatePolicy(c.doc, policy.MaxInlineUserPolicySize, "user alice")
			var ie *IAMError
			if c.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &ie) || ie.Code != c.code {
				t.Fatalf("err = %v, want %s", err, c.code)
			}
		})
	}
}

func newIAMIdentity(t *testing.T) *Identity {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	m, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	id, err := Bootstrap(ctx, m, Config{AccountID: "123456789012", MasterKeyFile: filepath.Join(dir, "master.key")})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestUserKeysAndPolicies(t *testing.T) {
	id := newIAMIdentity(t)
	ctx := context.Background()
	u, err := id.CreateUser(ctx, "alice", "/team/")
	if err != nil {
		t.Fatal(err)
	}
	k, err := id.CreateAccessKey(ctx, "ALICE")
	if err != nil {
		t.Fatal(err)
	}
	got, err := id.LookupAccessKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Principal{ARN: "arn:aws:iam::123456789012:user/team/alice", UserName: "alice", UserID: u.UserID, AccountID: "123456789012"}
	if got.Secret != k.Secret || got.Status != auth.KeyActive || got.Owner != want {
		t.Fatalf("LookupAccessKey = %+v, want owner %+v", got, want)
	}
	for _, bad := range []string{"", "AKIANOSUCHKEY0000000", "ASIATEMPORARY0000000", strings.Repeat("A", 200)} {
		if _, err := id.LookupAccessKey(ctx, bad); !errors.Is(err, auth.ErrKeyNotFound) {
			t.Errorf("LookupAccessKey(%q) = %v, want ErrKeyNotFound", bad, err)
		}
	}

	// PoliciesFor: inline, group and managed documents; none for the root.
	inline := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:ListImages","Resource":"*"}]}`
	group := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:PutImage","Resource":"*"}]}`
	if err := id.PutUserPolicy(ctx, "alice", "inline", inline); err != nil {
		t.Fatal(err)
	}
	if _, err := id.CreateGroup(ctx, "devs", ""); err != nil {
		t.Fatal(err)
	}
	if err := id.PutGroupPolicy(ctx, "devs", "deny-push", group); err != nil {
		t.Fatal(err)
	}
	if err := id.AddUserToGroup(ctx, "devs", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := id.AttachUserPolicy(ctx, "alice", policy.ManagedPolicyARN("AmazonEC2ContainerRegistryReadOnly")); err != nil {
		t.Fatal(err)
	}
	docs, err := id.PoliciesFor(ctx, &got.Owner)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(docs, []string{inline, group, policy.AmazonEC2ContainerRegistryReadOnly}) {
		t.Fatalf("PoliciesFor = %q", docs)
	}
	for _, d := range docs {
		if _, err := policy.ParseIdentityPolicy(d); err != nil {
			t.Fatalf("PoliciesFor returned an unparsable document: %v", err)
		}
	}
	root := id.RootPrincipal()
	if docs, err := id.PoliciesFor(ctx, &root); err != nil || docs != nil {
		t.Fatalf("PoliciesFor(root) = %v, %v", docs, err)
	}

	// The inline quota is summed over a user's policies.
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:ListImages","Resource":"arn:aws:ecr:us-east-1:123456789012:repository/` +
		strings.Repeat("r", 1900) + `"}]}`
	var ie *IAMError
	if err := id.PutUserPolicy(ctx, "alice", "big", big); !errors.As(err, &ie) || ie.Code != CodeLimitExceeded {
		t.Fatalf("over the summed quota: %v", err)
	}
	// Replacing a policy does not count its old version.
	if err := id.PutUserPolicy(ctx, "alice", "inline", big); err != nil {
		t.Fatalf("replacing within the quota: %v", err)
	}
}

// BenchmarkLookupUserKey measures what SigV4 costs for an IAM user's key
// (two point reads and one AES-GCM open) against the root key (a compare).
func BenchmarkLookupUserKey(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	m, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	id, err := Bootstrap(ctx, m, Config{AccountID: "123456789012", MasterKeyFile: filepath.Join(dir, "master.key")})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := id.CreateUser(ctx, "bench", ""); err != nil {
		b.Fatal(err)
	}
	k, err := id.CreateAccessKey(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := id.LookupAccessKey(ctx, k.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("root", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := id.LookupAccessKey(ctx, id.RootAccessKeyID()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestConcurrentCreateAccessKey: the two-key quota holds under racing
// creators (the check and the insert share one transaction).
func TestConcurrentCreateAccessKey(t *testing.T) {
	id := newIAMIdentity(t)
	ctx := context.Background()
	if _, err := id.CreateUser(ctx, "racer", ""); err != nil {
		t.Fatal(err)
	}
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := id.CreateAccessKey(ctx, "racer")
			errs <- err
		}()
	}
	created, limited := 0, 0
	for range n {
		err := <-errs
		var ie *IAMError
		switch {
		case err == nil:
			created++
		case errors.As(err, &ie) && ie.Code == CodeLimitExceeded:
			limited++
		default:
			t.Errorf("CreateAccessKey: %v", err)
		}
	}
	if created != MaxAccessKeysPerUser || limited != n-MaxAccessKeysPerUser {
		t.Fatalf("created %d, limited %d", created, limited)
	}
}
