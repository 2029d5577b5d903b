package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/policy"
)

// enforceEnv is a real Berth (server.New on real stores) served on a
// loopback port that is also its public URL, so go-containerregistry can
// follow upload Locations.
type enforceEnv struct {
	s    *Server
	logs *syncBuffer
	base string
	host string
}

func newEnforceEnv(t *testing.T) *enforceEnv {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := authConfig(t)
	cfg.PublicURL = "http://" + ln.Addr().String()
	s, logs := newServer(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &enforceEnv{s: s, logs: logs, base: cfg.PublicURL, host: ln.Addr().String()}
}

// user creates an IAM user with an access key, attached managed policies
// and inline policies, through the identity store functions.
func (e *enforceEnv) user(t *testing.T, userName string, managed []string, inline ...string) (keyID, secret string) {
	t.Helper()
	ctx := context.Background()
	id := e.s.Identity()
	if _, err := id.CreateUser(ctx, userName, "/"); err != nil {
		t.Fatal(err)
	}
	for _, m := range managed {
		if err := id.AttachUserPolicy(ctx, userName, policy.ManagedPolicyARN(m)); err != nil {
			t.Fatal(err)
		}
	}
	for i, doc := range inline {
		if err := id.PutUserPolicy(ctx, userName, "inline"+string(rune('a'+i)), doc); err != nil {
			t.Fatal(err)
		}
	}
	k, err := id.CreateAccessKey(ctx, userName)
	if err != nil {
		t.Fatal(err)
	}
	return k.ID, k.Secret
}

func (e *enforceEnv) ref(t *testing.T, r string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(e.host+"/"+r, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func (e *enforceEnv) opts(t *testing.T, token string) []remote.Option {
	return []remote.Option{
		remote.WithContext(t.Context()),
		remote.WithAuth(&authn.Basic{Username: "AWS", Password: token}),
		remote.WithRetryBackoff(remote.Backoff{Duration: 1, Factor: 1, Steps: 1}),
	}
}

// pull fetches a manifest and every layer.
func (e *enforceEnv) pull(t *testing.T, token, r string) error {
	img, err := remote.Image(e.ref(t, r), e.opts(t, token)...)
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		rc.Close()
	}
	return nil
}

func (e *enforceEnv) push(t *testing.T, token, r string, img v1.Image) error {
	return remote.Write(e.ref(t, r), img, e.opts(t, token)...)
}

// wantDenied checks a go-containerregistry error is a 403 DENIED whose
// message names the action.
func wantDenied(t *testing.T, err error, action string) {
	t.Helper()
	var te *transport.Error
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a 403 DENIED", err)
	}
	if te.StatusCode == http.StatusForbidden && len(te.Errors) == 0 && te.Request != nil && te.Request.Method == http.MethodHead {
		return // a HEAD (the layer existence check of a push) has no body to carry the code
	}
	if te.StatusCode != http.StatusForbidden || len(te.Errors) == 0 || te.Errors[0].Code != "DENIED" {
		t.Fatalf("err = %v (status %d), want 403 DENIED", err, te.StatusCode)
	}
	if !strings.Contains(te.Errors[0].Message, "is not authorized to perform: "+action) {
		t.Fatalf("message %q does not name %s", te.Errors[0].Message, action)
	}
}

func wantECRError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("err = %v, want %s containing %q", err, code, msg)
	}
}

const tokenOnly = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`

func TestIAMEnforcementEndToEnd(t *testing.T) {
	ctx := context.Background()
	e := newEnforceEnv(t)
	root := ecrClient(e.base, testRootKeyID, testRootSecret)
	for _, repo := range []string{"app", "other"} {
		if _, err := root.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
			t.Fatal(err)
		}
	}
	_, rootToken := loginToken(t, root)
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"app:v1", "other:v1"} {
		if err := e.push(t, rootToken, r, img); err != nil {
			t.Fatalf("root push %s: %v", r, err)
		}
	}

	// A read-only user: its token pulls, but a push is 403 DENIED.
	readerKey, readerSecret := e.user(t, "reader", []string{"AmazonEC2ContainerRegistryReadOnly"})
	reader := ecrClient(e.base, readerKey, readerSecret)
	_, readerToken := loginToken(t, reader)
	if err := e.pull(t, readerToken, "app:v1"); err != nil {
		t.Fatalf("reader pull: %v", err)
	}
	img2, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantDenied(t, e.push(t, readerToken, "app:v2", img2), "ecr:InitiateLayerUpload")
	if _, err := reader.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}}); err == nil {
		t.Fatal("reader BatchDeleteImage passed")
	} else {
		wantECRError(t, err, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: ecr:BatchDeleteImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/app because no identity-based policy allows the ecr:BatchDeleteImage action")
	}

	// A repository policy grants a second user push on one repository only.
	bobKey, bobSecret := e.user(t, "bob", nil, tokenOnly)
	bob := ecrClient(e.base, bobKey, bobSecret)
	_, bobToken := loginToken(t, bob)
	wantDenied(t, e.push(t, bobToken, "app:bob", img2), "ecr:")
	grant := `{"Version":"2012-10-17","Statement":[{"Sid":"BobPush","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},
	 "Action":["ecr:BatchCheckLayerAvailability","ecr:InitiateLayerUpload","ecr:UploadLayerPart","ecr:CompleteLayerUpload","ecr:PutImage"]}]}`
	if _, err := root.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("app"), PolicyText: aws.String(grant)}); err != nil {
		t.Fatal(err)
	}
	if err := e.push(t, bobToken, "app:bob", img2); err != nil {
		t.Fatalf("bob push to app under the repository policy: %v", err)
	}
	wantDenied(t, e.push(t, bobToken, "other:bob", img2), "ecr:")
	wantDenied(t, e.pull(t, bobToken, "app:v1"), "ecr:BatchGetImage")
	// An identity policy change made through the IAM API applies to the
	// next request at once, though bob's policies were just cached.
	iamc := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.base),
		Credentials: credentials.NewStaticCredentialsProvider(testRootKeyID, testRootSecret, ""), RetryMaxAttempts: 1})
	if _, err := iamc.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("bob"),
		PolicyArn: aws.String(policy.ManagedPolicyARN("AmazonEC2ContainerRegistryReadOnly"))}); err != nil {
		t.Fatalf("iam AttachUserPolicy: %v", err)
	}
	if err := e.pull(t, bobToken, "app:v1"); err != nil {
		t.Fatalf("bob pull right after AttachUserPolicy: %v", err)
	}

	// An explicit Deny in the registry policy wins over an identity Allow.
	adminKey, adminSecret := e.user(t, "admin", []string{"AmazonEC2ContainerRegistryFullAccess"})
	admin := ecrClient(e.base, adminKey, adminSecret)
	_, adminToken := loginToken(t, admin)
	if err := e.pull(t, adminToken, "other:v1"); err != nil {
		t.Fatalf("admin pull: %v", err)
	}
	deny := `{"Version":"2012-10-17","Statement":[{"Sid":"NoAdminPull","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/admin"},
	 "Action":["ecr:BatchGetImage"],"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/*"}]}`
	if _, err := root.PutRegistryPolicy(ctx, &ecr.PutRegistryPolicyInput{PolicyText: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	err = e.pull(t, adminToken, "other:v1")
	wantDenied(t, err, "ecr:BatchGetImage")
	var te *transport.Error
	if errors.As(err, &te) && !strings.Contains(te.Errors[0].Message, "with an explicit deny in a resource-based policy") {
		t.Fatalf("registry deny message %q", te.Errors[0].Message)
	}
	_, err = admin.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("other"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	wantECRError(t, err, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/admin is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/other with an explicit deny in a resource-based policy")
	if _, err := root.DeleteRegistryPolicy(ctx, &ecr.DeleteRegistryPolicyInput{}); err != nil {
		t.Fatal(err)
	}
	if err := e.pull(t, adminToken, "other:v1"); err != nil {
		t.Fatalf("admin pull after the registry policy was deleted: %v", err)
	}

	// Denials and mutating calls are in the audit trail.
	var sawDeny, sawMutation bool
	for _, l := range e.logs.lines(t, "audit") {
		if l["principal_arn"] == "arn:aws:iam::123456789012:user/reader" && l["action"] == "ecr:InitiateLayerUpload" &&
			l["resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/app" && l["decision"] == "Deny" && l["request_id"] != "" {
			sawDeny = true
		}
		if l["principal_arn"] == "arn:aws:iam::123456789012:root" && l["action"] == "ecr:PutRegistryPolicy" && l["decision"] == "Allow" {
			sawMutation = true
		}
	}
	if !sawDeny || !sawMutation {
		t.Fatalf("audit trail lacks the reader's denied push (%v) or root's PutRegistryPolicy (%v):\n%s", sawDeny, sawMutation, e.logs.String())
	}

	// A deactivated access key fails its next request, and its login
	// tokens stop working.
	if err := e.s.Identity().UpdateAccessKey(ctx, "reader", readerKey, "Inactive"); err != nil {
		t.Fatal(err)
	}
	_, err = reader.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	wantECRError(t, err, "UnrecognizedClientException", "The security token included in the request is invalid")
	err = e.pull(t, readerToken, "app:v1")
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		t.Fatalf("pull with a deactivated key's token: %v, want 401", err)
	}
}

// TestIAMActionsFollowPolicies checks that IAM users may call the IAM API
// exactly as far as their policies allow.
func TestIAMActionsFollowPolicies(t *testing.T) {
	e := newEnforceEnv(t)
	const listOnly = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`
	akid, secret := e.user(t, "auditor", nil, listOnly)
	iamc := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.base),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	if _, err := iamc.ListUsers(t.Context(), &iam.ListUsersInput{}); err != nil {
		t.Fatalf("ListUsers with iam:ListUsers allowed: %v", err)
	}
	_, err := iamc.CreateUser(t.Context(), &iam.CreateUserInput{UserName: aws.String("mallory")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Fatalf("CreateUser without permission: %v, want AccessDenied", err)
	}
	if !strings.Contains(apiErr.ErrorMessage(), "iam:CreateUser") {
		t.Errorf("message %q does not name the action", apiErr.ErrorMessage())
	}
}

// An explicit Deny is reported with IAM's wording for it, not as a missing
// Allow.
func TestIAMExplicitDenyWording(t *testing.T) {
	e := newEnforceEnv(t)
	const allowButDeny = `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":"iam:*","Resource":"*"},` +
		`{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}`
	akid, secret := e.user(t, "limited", nil, allowButDeny)
	iamc := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.base),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	_, err := iamc.CreateUser(t.Context(), &iam.CreateUserInput{UserName: aws.String("mallory")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Fatalf("CreateUser under an explicit deny: %v, want AccessDenied", err)
	}
	if !strings.HasSuffix(apiErr.ErrorMessage(), "with an explicit deny in an identity-based policy") {
		t.Errorf("message %q does not say explicit deny", apiErr.ErrorMessage())
	}
}

// An existing user or group is authorized under its ARN with its path, so
// a policy can delegate one path of the account.
func TestAuthorizationUsesStoredPaths(t *testing.T) {
	e := newEnforceEnv(t)
	ctx := context.Background()
	id := e.s.Identity()
	for _, u := range []struct{ name, path string }{{"bob", "/division/"}, {"carol", "/"}} {
		if _, err := id.CreateUser(ctx, u.name, u.path); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []struct{ name, path string }{{"ops", "/division/"}, {"dev", "/"}} {
		if _, err := id.CreateGroup(ctx, g.name, g.path); err != nil {
			t.Fatal(err)
		}
	}
	const delegate = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","iam:DeleteUser","iam:GetGroup"],` +
		`"Resource":["arn:aws:iam::*:user/division/*","arn:aws:iam::*:group/division/*"]}]}`
	akid, secret := e.user(t, "admin", nil, delegate)
	admin := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.base),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	account := id.AccountID()

	calls := map[string]func(name string) error{
		"GetUser": func(name string) error {
			_, err := admin.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)})
			return err
		},
		"GetGroup": func(name string) error {
			_, err := admin.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String(name)})
			return err
		},
		"DeleteUser": func(name string) error {
			_, err := admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(name)})
			return err
		},
	}
	tests := []struct {
		action, entity string
		resource       string // "" = allowed
	}{
		{"GetUser", "bob", ""},
		{"GetUser", "carol", "user/carol"},
		{"GetUser", "nobody", "user/nobody"},
		{"GetGroup", "ops", ""},
		{"GetGroup", "dev", "group/dev"},
		{"DeleteUser", "carol", "user/carol"},
		{"DeleteUser", "bob", ""},
	}
	for _, tt := range tests {
		t.Run(tt.action+" "+tt.entity, func(t *testing.T) {
			err := calls[tt.action](tt.entity)
			if tt.resource == "" {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" ||
				!strings.Contains(apiErr.ErrorMessage(), "on resource: arn:aws:iam::"+account+":"+tt.resource+" ") {
				t.Fatalf("err = %v, want AccessDenied on %s", err, tt.resource)
			}
		})
	}
	// A Path parameter on an action that takes none must not move the
	// resource into the delegated path (the SDK never sends one; a raw
	// request can).
	for _, action := range []string{"DeleteUser", "CreateAccessKey"} {
		status, body := signedIAMCall(t, e.base, akid, secret, url.Values{
			"Action": {action}, "Version": {"2010-05-08"}, "UserName": {"carol"}, "Path": {"/division/"}})
		if status != http.StatusForbidden || !strings.Contains(body, "<Code>AccessDenied</Code>") ||
			!strings.Contains(body, "on resource: arn:aws:iam::"+account+":user/carol ") {
			t.Errorf("%s of carol with a spoofed Path: status %d, %s; want AccessDenied on user/carol", action, status, body)
		}
	}
	if _, err := id.GetUser(ctx, "carol"); err != nil {
		t.Errorf("carol after a denied DeleteUser: %v", err)
	}
	if _, err := id.GetUser(ctx, "bob"); err == nil {
		t.Error("bob still exists after an allowed DeleteUser")
	}
}

// A cross-repository mount reads the source repository's blob: the caller
// needs ecr:GetDownloadUrlForLayer there, besides push on the target, with
// from= and without it (then the source is a repository holding the blob
// that the caller may read). Without it no mount happens and a plain upload
// starts (202), as the OCI spec prescribes when a mount cannot be made.
func TestMountNeedsDownloadOnTheSource(t *testing.T) {
	ctx := context.Background()
	e := newEnforceEnv(t)
	root := ecrClient(e.base, testRootKeyID, testRootSecret)
	for _, repo := range []string{"src", "dst"} {
		if _, err := root.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := root.PutAccountSetting(ctx, &ecr.PutAccountSettingInput{Name: aws.String("BLOB_MOUNTING"), Value: aws.String("ENABLED")}); err != nil {
		t.Fatal(err)
	}
	const pushDst = `{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:InitiateLayerUpload",` +
		`"ecr:UploadLayerPart","ecr:CompleteLayerUpload","ecr:PutImage"],"Resource":"*"}`
	const readSrc = `{"Effect":"Allow","Action":"ecr:GetDownloadUrlForLayer","Resource":"arn:aws:ecr:us-east-1:123456789012:repository/src"}`
	tokens := map[string]string{}
	for user, policy := range map[string]string{
		"pusher":  `{"Version":"2012-10-17","Statement":[` + pushDst + `]}`,
		"mounter": `{"Version":"2012-10-17","Statement":[` + pushDst + `,` + readSrc + `]}`,
	} {
		key, secret := e.user(t, user, nil, policy)
		_, tokens[user] = loginToken(t, ecrClient(e.base, key, secret))
	}

	tests := []struct {
		user, from string
		want       int
	}{
		{"pusher", "src", http.StatusAccepted},
		{"pusher", "", http.StatusAccepted},
		{"mounter", "src", http.StatusCreated},
		{"mounter", "", http.StatusCreated},
	}
	for i, tt := range tests {
		t.Run(tt.user+" from "+tt.from, func(t *testing.T) {
			data := []byte(fmt.Sprintf("layer %d in src", i)) // a blob dst does not hold yet
			d := digest.FromBytes(data)
			if _, err := e.s.core.PutBlob(ctx, "src", d, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			target := e.base + "/v2/dst/blobs/uploads/?mount=" + d.String()
			if tt.from != "" {
				target += "&from=" + tt.from
			}
			resp, body := do(t, http.MethodPost, target, nil,
				http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+tokens[tt.user]))}})
			if resp.StatusCode != tt.want {
				t.Fatalf("mount: status %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
		})
	}
}

// signedIAMCall sends one SigV4-signed IAM Query request with exactly the
// given parameters and returns the status and body.
func signedIAMCall(t *testing.T, base, keyID, secret string, form url.Values) (int, string) {
	t.Helper()
	body := form.Encode()
	signed, err := http.NewRequest(http.MethodPost, base+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	signed.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		signed, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, respBody := do(t, http.MethodPost, base+"/", strings.NewReader(body), signed.Header)
	return resp.StatusCode, respBody
}
