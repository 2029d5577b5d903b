package ecrapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/authz"
	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/meta/sqlite"
	"github.com/berth-registry/berth/internal/policy"
	"github.com/berth-registry/berth/internal/registry"
)

// Users of the authorization tests: their access key id, secret and
// identity policies.
var policyUsers = map[string]struct {
	keyID, secret string
	docs          []string
}{
	"reader": {"AKIAREADER0000000001", "readerSecret/0123456789abcdefghijklmnop", []string{policy.AmazonEC2ContainerRegistryReadOnly}},
	"admin":  {"AKIAADMIN00000000001", "adminSecret/0123456789abcdefghijklmnopq", []string{policy.AmazonEC2ContainerRegistryFullAccess}},
	"bob":    {"AKIABOB0000000000001", "bobSecret/0123456789abcdefghijklmnopqrs", nil},
}

type userPolicies struct{}

func (userPolicies) PoliciesFor(_ context.Context, p *auth.Principal) ([]string, error) {
	return policyUsers[p.UserName].docs, nil
}

// authzEnv is an ECR API with enforcement: the real core on real stores,
// the real authorizer over the users above, and SDK clients per user.
type authzEnv struct {
	core    *registry.Registry
	clients map[string]*ecr.Client // by user name; "root" for the root key
	audit   *[]authz.Event
}

func newAuthzEnv(t *testing.T) *authzEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	m, err := sqlite.Open(ctx, dir+"/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := fs.New(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	logs := &testLogWriter{t: t}
	t.Cleanup(func() { logs.done.Store(true) })
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	core := registry.New(m, b, registry.Config{RegistryID: testAccount}, logger)

	keys := staticKeys{testAKID: {ID: testAKID, Secret: testSecret, Status: auth.KeyActive,
		Owner: auth.Principal{ARN: "arn:aws:iam::" + testAccount + ":root", AccountID: testAccount, UserID: testAccount, IsRoot: true}}}
	for name, u := range policyUsers {
		keys[u.keyID] = auth.AccessKey{ID: u.keyID, Secret: u.secret, Status: auth.KeyActive, Owner: auth.Principal{
			ARN: "arn:aws:iam::" + testAccount + ":user/" + name, UserName: name, UserID: "AIDA" + strings.ToUpper(name), AccountID: testAccount,
		}}
	}
	tokens, err := auth.NewLoginTokens([]byte("0123456789abcdef0123456789abcdef"), keys)
	if err != nil {
		t.Fatal(err)
	}
	var events []authz.Event
	az := authz.New(authz.Config{Identities: userPolicies{}, Resources: core, Logger: logger,
		Sink: func(_ context.Context, ev authz.Event) { events = append(events, ev) }})

	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h, err = NewHandler(core, Options{AccountID: testAccount, Region: testRegion, PublicURL: srv.URL, Logger: logger, Authorizer: az, Tokens: tokens},
		&auth.Verifier{Keys: keys, Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	env := &authzEnv{core: core, clients: map[string]*ecr.Client{}, audit: &events}
	tenv := &testEnv{URL: srv.URL, Region: testRegion, Server: srv}
	env.clients["root"] = tenv.newClient(testAKID, testSecret)
	for name, u := range policyUsers {
		env.clients[name] = tenv.newClient(u.keyID, u.secret)
	}
	return env
}

// wantAPIError checks err's ECR error code and that its message contains msg.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("error %s: %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

const bobPushPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"BobPush","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":["ecr:PutImage","ecr:InitiateLayerUpload","ecr:UploadLayerPart","ecr:CompleteLayerUpload","ecr:BatchCheckLayerAvailability","ecr:SetRepositoryPolicy","ecr:GetRepositoryPolicy"]}]}`

func TestRepositoryPolicyOps(t *testing.T) {
	ctx := context.Background()
	env := newAuthzEnv(t)
	c := env.clients["root"]
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("app")})
	wantAPIError(t, err, "RepositoryPolicyNotFoundException", "Repository policy does not exist for the repository with name 'app' in the registry with id '123456789012'")
	_, err = c.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String("app")})
	wantAPIError(t, err, "RepositoryPolicyNotFoundException", "Repository policy does not exist")
	_, err = c.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("nope"), PolicyText: aws.String(bobPushPolicy)})
	wantAPIError(t, err, "RepositoryNotFoundException", "nope")

	for _, bad := range []string{`{`, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*"}]}`, `[]`} {
		_, err = c.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("app"), PolicyText: aws.String(bad)})
		wantAPIError(t, err, "InvalidParameterException", "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'")
	}

	out, err := c.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("app"), PolicyText: aws.String(bobPushPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.RegistryId) != testAccount || aws.ToString(out.RepositoryName) != "app" || aws.ToString(out.PolicyText) != bobPushPolicy {
		t.Fatalf("SetRepositoryPolicy output %+v", out)
	}
	got, err := c.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("app")})
	if err != nil || aws.ToString(got.PolicyText) != bobPushPolicy {
		t.Fatalf("GetRepositoryPolicy = %+v, %v", got, err)
	}
	// The policy now lets bob read it (resource-based grant).
	if _, err := env.clients["bob"].GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatalf("bob GetRepositoryPolicy: %v", err)
	}
	del, err := c.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String("app")})
	if err != nil || aws.ToString(del.PolicyText) != bobPushPolicy {
		t.Fatalf("DeleteRepositoryPolicy = %+v, %v", del, err)
	}
	// Deleted here, so forgotten here at once.
	_, err = env.clients["bob"].GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("app")})
	wantAPIError(t, err, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: ecr:GetRepositoryPolicy on resource: arn:aws:ecr:us-east-1:123456789012:repository/app because no identity-based policy allows the ecr:GetRepositoryPolicy action")
}

func TestSetRepositoryPolicyLockout(t *testing.T) {
	ctx := context.Background()
	env := newAuthzEnv(t)
	if _, err := env.core.CreateRepository(ctx, "app", registry.RepositorySettings{}); err != nil {
		t.Fatal(err)
	}
	denySet := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/admin"},"Action":"ecr:SetRepositoryPolicy"}]}`
	admin := env.clients["admin"]
	_, err := admin.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("app"), PolicyText: aws.String(denySet)})
	wantAPIError(t, err, "InvalidParameterException", "would prevent the caller from performing ecr:SetRepositoryPolicy")
	if text, _ := env.core.GetRepositoryPolicy(ctx, "app"); text != "" {
		t.Fatalf("a refused policy was stored: %s", text)
	}
	// A policy that does not lock the caller out needs no force, even when
	// it denies someone else.
	denyBob := strings.ReplaceAll(denySet, "user/admin", "user/bob")
	if _, err := admin.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("app"), PolicyText: aws.String(denyBob)}); err != nil {
		t.Fatalf("non-locking policy: %v", err)
	}
	// force applies it anyway; the caller is then locked out.
	if _, err := admin.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("app"), PolicyText: aws.String(denySet), Force: true}); err != nil {
		t.Fatalf("forced: %v", err)
	}
	_, err = admin.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("app"), PolicyText: aws.String(denyBob), Force: true})
	wantAPIError(t, err, "AccessDeniedException", "with an explicit deny in a resource-based policy")
	// Root is still allowed (the deny names admin only).
	if _, err := env.clients["root"].DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryPolicyOps(t *testing.T) {
	ctx := context.Background()
	env := newAuthzEnv(t)
	c := env.clients["root"]
	_, err := c.GetRegistryPolicy(ctx, &ecr.GetRegistryPolicyInput{})
	wantAPIError(t, err, "RegistryPolicyNotFoundException", "Registry policy does not exist in the registry with id '123456789012'")
	_, err = c.DeleteRegistryPolicy(ctx, &ecr.DeleteRegistryPolicyInput{})
	wantAPIError(t, err, "RegistryPolicyNotFoundException", "Registry policy does not exist")
	_, err = c.PutRegistryPolicy(ctx, &ecr.PutRegistryPolicyInput{PolicyText: aws.String(`{"Statement":`)})
	wantAPIError(t, err, "InvalidParameterException", "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'")

	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	admin := env.clients["admin"]
	if _, err := admin.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatalf("admin before the registry policy: %v", err)
	}
	deny := `{"Version":"2012-10-17","Statement":[{"Sid":"NoDescribe","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/admin"},"Action":"ecr:DescribeImages","Resource":"arn:aws:ecr:us-east-1:123456789012:repository/*"}]}`
	out, err := c.PutRegistryPolicy(ctx, &ecr.PutRegistryPolicyInput{PolicyText: aws.String(deny)})
	if err != nil || aws.ToString(out.PolicyText) != deny || aws.ToString(out.RegistryId) != testAccount {
		t.Fatalf("PutRegistryPolicy = %+v, %v", out, err)
	}
	// An explicit Deny in the registry policy beats the identity Allow.
	_, err = admin.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app")})
	wantAPIError(t, err, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/admin is not authorized to perform: ecr:DescribeImages on resource: arn:aws:ecr:us-east-1:123456789012:repository/app with an explicit deny in a resource-based policy")
	got, err := c.GetRegistryPolicy(ctx, &ecr.GetRegistryPolicyInput{})
	if err != nil || aws.ToString(got.PolicyText) != deny {
		t.Fatalf("GetRegistryPolicy = %+v, %v", got, err)
	}
	del, err := c.DeleteRegistryPolicy(ctx, &ecr.DeleteRegistryPolicyInput{})
	if err != nil || aws.ToString(del.PolicyText) != deny {
		t.Fatalf("DeleteRegistryPolicy = %+v, %v", del, err)
	}
	if _, err := admin.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatalf("admin after the registry policy was deleted: %v", err)
	}
}

func TestOperationsAreAuthorized(t *testing.T) {
	ctx := context.Background()
	env := newAuthzEnv(t)
	if _, err := env.clients["root"].CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	reader := env.clients["reader"]
	if _, err := reader.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); err != nil {
		t.Fatalf("reader DescribeRepositories: %v", err)
	}
	if _, err := reader.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); err != nil {
		t.Fatalf("reader GetAuthorizationToken: %v", err)
	}
	n := len(*env.audit)
	_, err := reader.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageManifest: aws.String("{}")})
	wantAPIError(t, err, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: ecr:PutImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/app because no identity-based policy allows the ecr:PutImage action")
	_, err = reader.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("new")})
	wantAPIError(t, err, "AccessDeniedException", "ecr:CreateRepository on resource: arn:aws:ecr:us-east-1:123456789012:repository/new")
	_, err = env.clients["bob"].DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
	wantAPIError(t, err, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: ecr:DescribeRegistry because no identity-based policy allows the ecr:DescribeRegistry action")
	_, err = reader.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"app"}})
	if err != nil {
		t.Fatalf("reader DescribeRepositories by name: %v", err)
	}
	evs := (*env.audit)[n:]
	if len(evs) != 3 {
		t.Fatalf("audit events %+v, want the 3 denials", evs)
	}
	for _, ev := range evs {
		if ev.Decision != "Deny" || ev.RequestID == "" || ev.PrincipalARN == "" {
			t.Fatalf("audit event %+v", ev)
		}
	}
	// An allowed mutating call is audited too.
	n = len(*env.audit)
	if _, err := env.clients["admin"].TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String("arn:aws:ecr:us-east-1:123456789012:repository/app"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}); err != nil {
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() == "AccessDeniedException" {
			t.Fatalf("admin TagResource: %v", err)
		}
	}
	if evs := (*env.audit)[n:]; len(evs) != 1 || evs[0].Decision != "Allow" || evs[0].Action != "ecr:TagResource" || evs[0].Resource != "arn:aws:ecr:us-east-1:123456789012:repository/app" {
		t.Fatalf("audit of an allowed mutating call: %+v", evs)
	}
}

func TestAuthTargets(t *testing.T) {
	s := &Service{opts: Options{AccountID: testAccount, Region: testRegion}}
	arn := func(n string) string { return "arn:aws:ecr:us-east-1:123456789012:repository/" + n }
	tests := []struct {
		op     string
		params map[string]any
		want   []authTarget
	}{
		{"PutImage", map[string]any{"repositoryName": "app", "imageManifest": "{}"}, []authTarget{{"app", arn("app")}}},
		{"BatchGetImage", map[string]any{"repositoryName": "team/app"}, []authTarget{{"team/app", arn("team/app")}}},
		{"SetRepositoryPolicy", map[string]any{"repositoryName": "app", "policyText": "{}"}, []authTarget{{"app", arn("app")}}},
		{"CreateRepository", map[string]any{"repositoryName": "new"}, []authTarget{{"new", arn("new")}}},
		{"DescribeRepositories", map[string]any{}, []authTarget{{"", "*"}}},
		{"DescribeRepositories", map[string]any{"repositoryNames": []any{"a", "b"}}, []authTarget{{"a", arn("a")}, {"b", arn("b")}}},
		{"TagResource", map[string]any{"resourceArn": arn("app")}, []authTarget{{"app", arn("app")}}},
		{"TagResource", map[string]any{"resourceArn": "arn:aws:ecr:eu-west-1:999999999999:repository/x"}, []authTarget{{"", "arn:aws:ecr:eu-west-1:999999999999:repository/x"}}},
		{"GetAuthorizationToken", map[string]any{}, []authTarget{{"", "*"}}},
		{"DescribeRegistry", nil, []authTarget{{"", "*"}}},
		{"GetAccountSetting", map[string]any{"name": "BASIC_SCAN_TYPE_VERSION"}, []authTarget{{"", "*"}}},
		{"PutRegistryPolicy", map[string]any{"policyText": "{}"}, []authTarget{{"", "*"}}},
	}
	for _, tc := range tests {
		got := s.authTargets(tc.params)
		if len(got) != len(tc.want) {
			t.Errorf("%s: targets %v, want %v", tc.op, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: targets %v, want %v", tc.op, got, tc.want)
			}
		}
	}
}

func TestRequestTags(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		want   map[string][]string
	}{
		{"none", map[string]any{"repositoryName": "app"}, nil},
		{"tags", map[string]any{"tags": []any{map[string]any{"Key": "Team", "Value": "blue"}, map[string]any{"Key": "cost", "Value": ""}}},
			map[string][]string{"aws:tagkeys": {"Team", "cost"}, "aws:requesttag/team": {"blue"}, "aws:requesttag/cost": {""}}},
		{"tag keys", map[string]any{"tagKeys": []any{"a", "b"}}, map[string][]string{"aws:tagkeys": {"a", "b"}}},
		{"malformed entries are skipped", map[string]any{"tags": []any{"x", map[string]any{"Value": "v"}}}, nil},
	}
	for _, tc := range tests {
		got := requestTags(tc.params)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for k, v := range tc.want {
			if strings.Join(got[k], ",") != strings.Join(v, ",") {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}
