package authz

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/policy"
	"github.com/berth-registry/berth/internal/registry"
)

const (
	acct   = "123456789012"
	region = "us-east-1"
)

func user(name string) *auth.Principal {
	return &auth.Principal{ARN: "arn:aws:iam::" + acct + ":user/" + name, UserName: name, UserID: "AIDA" + strings.ToUpper(name), AccountID: acct}
}

var root = &auth.Principal{ARN: "arn:aws:iam::" + acct + ":root", UserID: acct, AccountID: acct, IsRoot: true}

// fakeSource is a PolicySource and ResourcePolicies over maps, counting
// reads.
type fakeSource struct {
	mu       sync.Mutex
	identity map[string][]string // by user name
	repos    map[string]string   // policy by repository; absent: no repository
	tags     map[string]map[string]string
	registry string
	reads    int
	fail     error
}

func (f *fakeSource) PoliciesFor(_ context.Context, p *auth.Principal) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.fail != nil {
		return nil, f.fail
	}
	return f.identity[p.UserName], nil
}

func (f *fakeSource) GetRepository(_ context.Context, name string) (*registry.Repository, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.fail != nil {
		return nil, f.fail
	}
	text, ok := f.repos[name]
	if !ok {
		return nil, registry.Errorf(registry.KindNameUnknown, "no repository %s", name)
	}
	repo := &registry.Repository{Name: name}
	repo.RepositoryPolicy = text
	for k, v := range f.tags[name] {
		repo.Tags = append(repo.Tags, registry.ResourceTag{Key: k, Value: v})
	}
	return repo, nil
}

func (f *fakeSource) GetRegistryPolicy(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.fail != nil {
		return "", f.fail
	}
	return f.registry, nil
}

func repoARN(name string) string { return RepositoryARN(region, acct, name) }

const pushToBob = `{"Version":"2012-10-17","Statement":[{"Sid":"BobPush","Effect":"Allow",
 "Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},
 "Action":["ecr:InitiateLayerUpload","ecr:UploadLayerPart","ecr:CompleteLayerUpload","ecr:BatchCheckLayerAvailability","ecr:PutImage"]}]}`

const denyDeleteAll = `{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Principal":"*",
 "Action":["ecr:BatchDeleteImage","ecr:DeleteRepository"],"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/*"}]}`

const fullInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}`

func newFixture() (*Authorizer, *fakeSource, *[]Event, *time.Time) {
	src := &fakeSource{
		identity: map[string][]string{
			"reader": {policy.AmazonEC2ContainerRegistryReadOnly},
			"admin":  {fullInline},
			"bob":    {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`},
		},
		repos: map[string]string{"app": pushToBob, "other": ""},
		tags:  map[string]map[string]string{"app": {"Team": "blue"}},
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var events []Event
	var mu sync.Mutex
	a := New(Config{
		Identities: src, Resources: src, TTL: time.Minute, CreateOnPush: true,
		Now:  func() time.Time { return now },
		Sink: func(_ context.Context, ev Event) { mu.Lock(); events = append(events, ev); mu.Unlock() },
	})
	return a, src, &events, &now
}

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name      string
		principal *auth.Principal
		action    string
		repo      string // "" for "*"
		registry  string // registry policy
		wantMsg   string // "" allowed
	}{
		{"reader pulls", user("reader"), "ecr:BatchGetImage", "app", "", ""},
		{"reader gets layers", user("reader"), "ecr:GetDownloadUrlForLayer", "other", "", ""},
		{"reader gets a token", user("reader"), "ecr:GetAuthorizationToken", "", "", ""},
		{"reader may not push", user("reader"), "ecr:PutImage", "app", "",
			"User: arn:aws:iam::123456789012:user/reader is not authorized to perform: ecr:PutImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/app because no identity-based policy allows the ecr:PutImage action"},
		{"reader may not create", user("reader"), "ecr:CreateRepository", "new", "", "because no identity-based policy allows the ecr:CreateRepository action"},
		{"repository policy grants bob push on app", user("bob"), "ecr:PutImage", "app", "", ""},
		{"bob may not push elsewhere", user("bob"), "ecr:PutImage", "other", "", "because no identity-based policy allows the ecr:PutImage action"},
		{"bob may not pull app", user("bob"), "ecr:BatchGetImage", "app", "", "no identity-based policy allows"},
		{"unknown user has nothing", user("nobody"), "ecr:DescribeRepositories", "", "", "not authorized to perform: ecr:DescribeRepositories because"},
		{"admin deletes", user("admin"), "ecr:BatchDeleteImage", "app", "", ""},
		{"registry deny beats identity allow", user("admin"), "ecr:BatchDeleteImage", "app", denyDeleteAll,
			"User: arn:aws:iam::123456789012:user/admin is not authorized to perform: ecr:BatchDeleteImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/app with an explicit deny in a resource-based policy"},
		{"registry deny beats repository allow", user("bob"), "ecr:DeleteRepository", "app", denyDeleteAll, "explicit deny in a resource-based policy"},
		{"registry deny leaves other actions", user("admin"), "ecr:PutImage", "app", denyDeleteAll, ""},
		{"root may do anything", root, "ecr:DeleteRepository", "app", "", ""},
		{"root registry-level", root, "ecr:PutRegistryPolicy", "", "", ""},
		{"root is bound by a resource deny", root, "ecr:BatchDeleteImage", "app", denyDeleteAll, "User: arn:aws:iam::123456789012:root is not authorized to perform: ecr:BatchDeleteImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/app with an explicit deny in a resource-based policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, src, events, _ := newFixture()
			src.registry = tc.registry
			c := Check{Principal: tc.principal, Action: tc.action, Resource: "*", RequestID: "req-1"}
			if tc.repo != "" {
				c.Repository, c.Resource = tc.repo, repoARN(tc.repo)
			}
			err := a.Authorize(context.Background(), c)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				if Mutating(tc.action) != (len(*events) == 1) {
					t.Fatalf("audit events %+v for an allowed %s", *events, tc.action)
				}
				return
			}
			var d *DeniedError
			if !errors.As(err, &d) {
				t.Fatalf("err = %v, want a denial", err)
			}
			if !strings.Contains(d.Message, tc.wantMsg) {
				t.Fatalf("message %q lacks %q", d.Message, tc.wantMsg)
			}
			if len(*events) != 1 {
				t.Fatalf("audit events: %+v", *events)
			}
			ev := (*events)[0]
			if ev.Decision != "Deny" || ev.PrincipalARN != tc.principal.ARN || ev.Action != tc.action || ev.Resource != c.Resource || ev.RequestID != "req-1" {
				t.Fatalf("audit event %+v", ev)
			}
		})
	}
}

func TestCacheAndInvalidation(t *testing.T) {
	ctx := context.Background()
	a, src, _, now := newFixture()
	c := Check{Principal: user("bob"), Action: "ecr:PutImage", Resource: repoARN("other"), Repository: "other"}
	if err := a.Authorize(ctx, c); !IsDenied(err) {
		t.Fatalf("err = %v, want denied", err)
	}
	reads := src.reads
	for range 100 {
		_ = a.Authorize(ctx, c)
	}
	if src.reads != reads {
		t.Fatalf("cached decisions re-read policies: %d reads, want %d", src.reads, reads)
	}

	// A change through this node applies at once after Forget.
	src.mu.Lock()
	src.repos["other"] = pushToBob
	src.mu.Unlock()
	if err := a.Authorize(ctx, c); !IsDenied(err) {
		t.Fatalf("policy changed behind the cache took effect without Forget or TTL: %v", err)
	}
	a.ForgetRepository("other")
	if err := a.Authorize(ctx, c); err != nil {
		t.Fatalf("after ForgetRepository: %v", err)
	}

	// A change elsewhere applies once the TTL passed.
	src.mu.Lock()
	src.registry = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:PutImage"}]}`
	src.mu.Unlock()
	if err := a.Authorize(ctx, c); err != nil {
		t.Fatalf("registry policy applied before its TTL: %v", err)
	}
	*now = now.Add(time.Minute)
	if err := a.Authorize(ctx, c); !IsDenied(err) {
		t.Fatalf("registry policy not applied after TTL: %v", err)
	}
	a.ForgetRegistry()
	src.mu.Lock()
	src.registry = ""
	src.identity["bob"] = []string{fullInline}
	src.mu.Unlock()
	a.ForgetPrincipals()
	c.Repository, c.Resource = "nope", repoARN("nope")
	if err := a.Authorize(ctx, c); err != nil {
		t.Fatalf("identity change after ForgetPrincipals: %v", err)
	}
}

func TestFailsClosed(t *testing.T) {
	ctx := context.Background()
	a, src, _, _ := newFixture()
	src.fail = errors.New("store down")
	err := a.Authorize(ctx, Check{Principal: user("admin"), Action: "ecr:PutImage", Resource: repoARN("app"), Repository: "app"})
	if err == nil || IsDenied(err) {
		t.Fatalf("err = %v, want an internal error", err)
	}
	if err := a.Authorize(ctx, Check{Action: "ecr:PutImage", Resource: "*"}); err == nil {
		t.Fatal("a check without a principal passed")
	}
}

func TestDecideWithReplacementPolicy(t *testing.T) {
	a, _, _, _ := newFixture()
	lockout, err := policy.ParseResourcePolicy(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:SetRepositoryPolicy"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	c := Check{Principal: user("admin"), Action: "ecr:SetRepositoryPolicy", Resource: repoARN("app"), Repository: "app"}
	if d, err := a.Decide(context.Background(), c, nil); err != nil || !d.Allowed {
		t.Fatalf("stored policy: %+v, %v", d, err)
	}
	if d, err := a.Decide(context.Background(), c, lockout); err != nil || d.Allowed || d.Reason != policy.ReasonExplicitDeny {
		t.Fatalf("replacement policy: %+v, %v", d, err)
	}
}

func TestMutating(t *testing.T) {
	for action, want := range map[string]bool{
		"ecr:PutImage": true, "ecr:BatchDeleteImage": true, "ecr:CreateRepository": true, "ecr:SetRepositoryPolicy": true,
		"ecr:InitiateLayerUpload": true, "ecr:UploadLayerPart": true, "ecr:CompleteLayerUpload": true, "ecr:TagResource": true,
		"ecr:UntagResource": true, "ecr:DeleteRegistryPolicy": true, "ecr:PutRegistryPolicy": true, "ecr:StartImageScan": true,
		"ecr:BatchGetImage": false, "ecr:GetDownloadUrlForLayer": false, "ecr:DescribeRepositories": false,
		"ecr:GetAuthorizationToken": false, "ecr:ListImages": false, "ecr:BatchCheckLayerAvailability": false,
		"ecr:GetRepositoryPolicy": false, "s3:PutObject": false,
	} {
		if got := Mutating(action); got != want {
			t.Errorf("Mutating(%s) = %v, want %v", action, got, want)
		}
	}
}

func TestV2Actions(t *testing.T) {
	tests := []struct {
		route, method, action string
		mount                 bool
		want                  string // groups joined by ";", alternatives by "|"
	}{
		{"manifest", "GET", "pull", false, "ecr:BatchGetImage"},
		{"manifest", "HEAD", "pull", false, "ecr:BatchGetImage"},
		{"referrers", "GET", "pull", false, "ecr:BatchGetImage"},
		{"tags_list", "GET", "pull", false, "ecr:ListImages"},
		{"blob", "GET", "pull", false, "ecr:GetDownloadUrlForLayer"},
		{"blob", "HEAD", "pull", false, "ecr:BatchCheckLayerAvailability|ecr:GetDownloadUrlForLayer"},
		{"manifest", "PUT", "push", false, "ecr:PutImage"},
		{"blob_upload_start", "POST", "push", false, "ecr:InitiateLayerUpload"},
		{"blob_upload_start", "POST", "pull", true, "ecr:GetDownloadUrlForLayer"},
		{"blob_upload", "PATCH", "push", false, "ecr:UploadLayerPart"},
		{"blob_upload", "GET", "push", false, "ecr:UploadLayerPart"},
		{"blob_upload", "DELETE", "push", false, "ecr:UploadLayerPart"},
		{"blob_upload", "PUT", "push", false, "ecr:CompleteLayerUpload"},
		{"manifest", "DELETE", "delete", false, "ecr:BatchDeleteImage"},
		{"blob", "DELETE", "delete", false, "ecr:BatchDeleteImage"},
		{"catalog", "GET", "catalog", false, "ecr:DescribeRepositories"},
		{"base", "GET", "", false, ""},
		{"manifest", "GET", "frobnicate", false, "berth:UnknownOCIAction"},
	}
	for _, tc := range tests {
		var groups []string
		for _, g := range V2Actions(tc.route, tc.method, tc.action, tc.mount) {
			groups = append(groups, strings.Join(g, "|"))
		}
		if got := strings.Join(groups, ";"); got != tc.want {
			t.Errorf("V2Actions(%s %s %s mount=%v) = %q, want %q", tc.method, tc.route, tc.action, tc.mount, got, tc.want)
		}
	}
}

func TestAuthorizeV2(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		principal  *auth.Principal
		route      string
		method     string
		repo       string
		action     string
		wantDenied string // "" allowed, else the denied action
	}{
		{"reader pulls a manifest", user("reader"), "manifest", "GET", "app", "pull", ""},
		{"reader pulls a blob", user("reader"), "blob", "GET", "app", "pull", ""},
		{"reader lists the catalog", user("reader"), "catalog", "GET", "", "catalog", ""},
		{"reader may not start an upload", user("reader"), "blob_upload_start", "POST", "app", "push", "ecr:InitiateLayerUpload"},
		{"reader may not put a manifest", user("reader"), "manifest", "PUT", "app", "push", "ecr:PutImage"},
		{"reader may not delete", user("reader"), "manifest", "DELETE", "app", "delete", "ecr:BatchDeleteImage"},
		{"bob pushes to app", user("bob"), "manifest", "PUT", "app", "push", ""},
		{"bob checks a layer in app", user("bob"), "blob", "HEAD", "app", "pull", ""},
		{"bob may not push to other", user("bob"), "blob_upload", "PATCH", "other", "push", "ecr:UploadLayerPart"},
		{"bob may not pull from app", user("bob"), "manifest", "GET", "app", "pull", "ecr:BatchGetImage"},
		{"creating on push needs CreateRepository", user("bob"), "blob_upload_start", "POST", "new", "push", "ecr:CreateRepository"},
		{"admin creates on push", user("admin"), "manifest", "PUT", "new", "push", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, _, events, _ := newFixture()
			err := a.AuthorizeV2(ctx, region, V2Request{Principal: tc.principal, Route: tc.route, Method: tc.method, Repository: tc.repo, OCIAction: tc.action})
			if tc.wantDenied == "" {
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range *events {
					if ev.Decision == "Deny" {
						t.Fatalf("an allowed request audited a denial: %+v", ev)
					}
				}
				return
			}
			var d *DeniedError
			if !errors.As(err, &d) || d.Action != tc.wantDenied {
				t.Fatalf("err = %v, want a denial of %s", err, tc.wantDenied)
			}
			if !strings.Contains(d.Message, "is not authorized to perform: "+tc.wantDenied) {
				t.Fatalf("message %q", d.Message)
			}
		})
	}
}

// BenchmarkAuthorizeCached measures the hot-path cost of a cached decision.
func BenchmarkAuthorizeCached(b *testing.B) {
	a, _, _, _ := newFixture()
	c := Check{Principal: user("reader"), Action: "ecr:BatchGetImage", Resource: repoARN("app"), Repository: "app"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Authorize(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func TestConditionKeys(t *testing.T) {
	ctx := context.Background()
	a, src, _, _ := newFixture()
	src.identity["tagger"] = []string{`{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"ecr:PutImage","Resource":"*","Condition":{"StringEquals":{"ecr:ResourceTag/Team":"${aws:username}"}}},
	 {"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"blue"}}},
	 {"Effect":"Allow","Action":"ecr:CreateRepository","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]},"StringEquals":{"aws:RequestTag/team":"blue"}}},
	 {"Effect":"Deny","Action":"ecr:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}`}
	tests := []struct {
		name  string
		c     Check
		allow bool
	}{
		{"resource tag matches", Check{Action: "ecr:BatchGetImage", Repository: "app"}, true},
		{"resource tag absent", Check{Action: "ecr:BatchGetImage", Repository: "other"}, false},
		{"policy variable against a tag", Check{Action: "ecr:PutImage", Repository: "app"}, false},
		{"request tags allowed", Check{Action: "ecr:CreateRepository", Repository: "new",
			Context: map[string][]string{"aws:requesttag/team": {"blue"}, "aws:tagkeys": {"team"}}}, true},
		{"request tag keys outside the set", Check{Action: "ecr:CreateRepository", Repository: "new",
			Context: map[string][]string{"aws:requesttag/team": {"blue"}, "aws:tagkeys": {"team", "cost"}}}, false},
		{"source ip denied", Check{Action: "ecr:BatchGetImage", Repository: "app", SourceIP: []byte{203, 0, 113, 7}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.Principal = user("tagger")
			c.Resource = repoARN(c.Repository)
			err := a.Authorize(ctx, c)
			if tc.allow != (err == nil) {
				t.Fatalf("allowed = %v, want %v (%v)", err == nil, tc.allow, err)
			}
		})
	}
}
