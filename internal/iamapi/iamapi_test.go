package iamapi_test

// Integration tests: the real identity on a real SQLite store, the real
// handler with a real SigV4 verifier, served by httptest and driven with the
// AWS SDK for Go v2 IAM and STS clients.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/iamapi"
	"github.com/berth-registry/berth/internal/identity"
	"github.com/berth-registry/berth/internal/meta/sqlite"
	"github.com/berth-registry/berth/internal/policy"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	rootKeyID   = "AKIAROOTROOTROOT0001"
	rootSecret  = "rootsecretrootsecretrootsecretrootsecret"
)

type env struct {
	ID   *identity.Identity
	URL  string
	srv  *httptest.Server
	IAM  *iam.Client
	STS  *sts.Client
	Meta *sqlite.Store
	// handler is the handler under test, for direct calls.
	handler http.Handler
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	m, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	id, err := identity.Bootstrap(ctx, m, identity.Config{
		AccountID: testAccount, MasterKeyFile: filepath.Join(dir, "master.key"),
		RootAccessKeyID: rootKeyID, RootSecretAccessKey: rootSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := iamapi.New(iamapi.Options{
		Identity:      id,
		Authenticator: &auth.Verifier{Keys: id, Region: testRegion, Protocol: auth.ProtocolQuery},
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !iamapi.IsQueryRequest(r) {
			http.Error(w, "not a query request", http.StatusTeapot)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e := &env{ID: id, URL: srv.URL, srv: srv, Meta: m, handler: h}
	e.IAM, e.STS = e.clients(rootKeyID, rootSecret)
	return e
}

func (e *env) clients(akid, secret string) (*iam.Client, *sts.Client) {
	creds := credentials.NewStaticCredentialsProvider(akid, secret, "")
	i := iam.New(iam.Options{Region: testRegion, BaseEndpoint: aws.String(e.URL), Credentials: creds,
		HTTPClient: e.srv.Client(), RetryMaxAttempts: 1})
	s := sts.New(sts.Options{Region: testRegion, BaseEndpoint: aws.String(e.URL), Credentials: creds,
		HTTPClient: e.srv.Client(), RetryMaxAttempts: 1})
	return i, s
}

// wantAPIError asserts err is an AWS API error with code and, when given,
// a message containing msg.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("error = %s: %s, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

const readRepoPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:BatchGetImage"],"Resource":"*"}]}`

func TestUsersLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	out, err := e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice"), Path: aws.String("/eng/")})
	if err != nil {
		t.Fatal(err)
	}
	u := out.User
	if *u.UserName != "alice" || *u.Path != "/eng/" || *u.Arn != "arn:aws:iam::"+testAccount+":user/eng/alice" {
		t.Fatalf("CreateUser = %+v", u)
	}
	if !strings.HasPrefix(*u.UserId, "AIDA") || len(*u.UserId) != 21 || strings.ToUpper(*u.UserId) != *u.UserId {
		t.Fatalf("UserId = %q", *u.UserId)
	}
	if u.CreateDate == nil || time.Since(*u.CreateDate) > time.Hour {
		t.Fatalf("CreateDate = %v", u.CreateDate)
	}
	_, err = e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ALICE")})
	wantAPIError(t, err, "EntityAlreadyExists", "User with name ALICE already exists.")
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("err %T is not the SDK's EntityAlreadyExistsException", err)
	}
	_, err = e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bad name")})
	wantAPIError(t, err, "ValidationError", "userName")
	_, err = e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x"), Path: aws.String("nopath")})
	wantAPIError(t, err, "ValidationError", "path")

	got, err := e.IAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("Alice")})
	if err != nil {
		t.Fatal(err)
	}
	if *got.User.UserId != *u.UserId || *got.User.UserName != "alice" {
		t.Fatalf("GetUser = %+v", got.User)
	}
	_, err = e.IAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	wantAPIError(t, err, "NoSuchEntity", "The user with name nobody cannot be found.")
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("err %T is not the SDK's NoSuchEntityException", err)
	}
	// GetUser without a name describes the caller: the root here.
	self, err := e.IAM.GetUser(ctx, &iam.GetUserInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *self.User.Arn != "arn:aws:iam::"+testAccount+":root" || *self.User.UserId != testAccount {
		t.Fatalf("GetUser(root) = %+v", self.User)
	}

	for _, n := range []string{"bob", "carol", "dave"} {
		if _, err := e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	// Pagination with the SDK's paginator, two at a time.
	var names []string
	pages := iam.NewListUsersPaginator(e.IAM, &iam.ListUsersInput{MaxItems: aws.Int32(2)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			names = append(names, *u.UserName)
		}
	}
	if strings.Join(names, ",") != "alice,bob,carol,dave" {
		t.Fatalf("ListUsers = %v", names)
	}
	eng, err := e.IAM.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/eng/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(eng.Users) != 1 || *eng.Users[0].UserName != "alice" || eng.IsTruncated {
		t.Fatalf("ListUsers(/eng/) = %+v", eng)
	}

	if _, err := e.IAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("dave")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.IAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("dave")})
	wantAPIError(t, err, "NoSuchEntity", "dave")
}

func TestDeleteUserConflicts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	user := aws.String("alice")
	mustDo(t)(e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: user}))
	k, err := e.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.IAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user})
	wantAPIError(t, err, "DeleteConflict", "must delete access keys first")
	var dc *iamtypes.DeleteConflictException
	if !errors.As(err, &dc) {
		t.Fatalf("err %T is not DeleteConflictException", err)
	}
	mustDo(t)(e.IAM.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyId: k.AccessKey.AccessKeyId}))

	mustDo(t)(e.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: aws.String("p"), PolicyDocument: aws.String(readRepoPolicy)}))
	_, err = e.IAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user})
	wantAPIError(t, err, "DeleteConflict", "must delete policies first")
	mustDo(t)(e.IAM.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: user, PolicyName: aws.String("p")}))

	ro := aws.String(policy.ManagedPolicyARN("AmazonEC2ContainerRegistryReadOnly"))
	mustDo(t)(e.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: ro}))
	_, err = e.IAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user})
	wantAPIError(t, err, "DeleteConflict", "must detach all policies first")
	mustDo(t)(e.IAM.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: ro}))

	mustDo(t)(e.IAM.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")}))
	mustDo(t)(e.IAM.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: user}))
	_, err = e.IAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user})
	wantAPIError(t, err, "DeleteConflict", "must remove users from group first")
	mustDo(t)(e.IAM.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("devs"), UserName: user}))

	mustDo(t)(e.IAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user}))
}

// mustDo returns a checker for (output, error) pairs.
func mustDo(t *testing.T) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAccessKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	user := aws.String("alice")
	mustDo(t)(e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: user}))

	k1, err := e.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if err != nil {
		t.Fatal(err)
	}
	ak := k1.AccessKey
	if !strings.HasPrefix(*ak.AccessKeyId, "AKIA") || len(*ak.AccessKeyId) != 20 || strings.ToUpper(*ak.AccessKeyId) != *ak.AccessKeyId {
		t.Fatalf("AccessKeyId = %q", *ak.AccessKeyId)
	}
	if len(*ak.SecretAccessKey) != 40 || ak.Status != iamtypes.StatusTypeActive || *ak.UserName != "alice" {
		t.Fatalf("CreateAccessKey = %+v", ak)
	}
	// The secret is stored sealed: it appears nowhere in the database.
	stored, err := e.Meta.GetIAMAccessKey(ctx, *ak.AccessKeyId)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.SealedSecret, []byte(*ak.SecretAccessKey)) {
		t.Fatal("secret stored in clear")
	}
	mustDo(t)(e.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user}))
	_, err = e.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	wantAPIError(t, err, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
	_, err = e.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("nobody")})
	wantAPIError(t, err, "NoSuchEntity", "nobody")

	list, err := e.IAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: user})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.AccessKeyMetadata) != 2 || *list.AccessKeyMetadata[0].AccessKeyId != *ak.AccessKeyId {
		t.Fatalf("ListAccessKeys = %+v", list.AccessKeyMetadata)
	}

	mustDo(t)(e.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: user, AccessKeyId: ak.AccessKeyId, Status: iamtypes.StatusTypeInactive}))
	list, _ = e.IAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: user})
	if list.AccessKeyMetadata[0].Status != iamtypes.StatusTypeInactive {
		t.Fatalf("status after update = %s", list.AccessKeyMetadata[0].Status)
	}
	_, err = e.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: user, AccessKeyId: ak.AccessKeyId, Status: "Sleeping"})
	wantAPIError(t, err, "ValidationError", "status")
	_, err = e.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: user, AccessKeyId: aws.String("AKIANOSUCHKEY0000000"), Status: iamtypes.StatusTypeActive})
	wantAPIError(t, err, "NoSuchEntity", "The Access Key with id AKIANOSUCHKEY0000000 cannot be found.")
	// Another user's key is not found under this user.
	mustDo(t)(e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}))
	_, err = e.IAM.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: ak.AccessKeyId})
	wantAPIError(t, err, "NoSuchEntity", "cannot be found")

	mustDo(t)(e.IAM.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyId: ak.AccessKeyId}))
	_, err = e.IAM.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyId: ak.AccessKeyId})
	wantAPIError(t, err, "NoSuchEntity", "cannot be found")
}

func TestUserPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	user := aws.String("alice")
	mustDo(t)(e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: user}))

	doc := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}`
	mustDo(t)(e.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: aws.String("ecr-all"), PolicyDocument: aws.String(doc)}))
	got, err := e.IAM.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: user, PolicyName: aws.String("ecr-all")})
	if err != nil {
		t.Fatal(err)
	}
	// IAM returns the document URL-encoded; the SDK hands it over as is.
	decoded, err := url.QueryUnescape(*got.PolicyDocument)
	if err != nil || decoded != doc || strings.Contains(*got.PolicyDocument, " ") {
		t.Fatalf("PolicyDocument = %q (decoded %q, %v)", *got.PolicyDocument, decoded, err)
	}
	if *got.UserName != "alice" || *got.PolicyName != "ecr-all" {
		t.Fatalf("GetUserPolicy = %+v", got)
	}
	// User names are case-insensitive; the response names the user as stored.
	got, err = e.IAM.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("ALICE"), PolicyName: aws.String("ecr-all")})
	if err != nil {
		t.Fatal(err)
	}
	if *got.UserName != "alice" {
		t.Fatalf("GetUserPolicy(ALICE).UserName = %q, want alice", *got.UserName)
	}
	mustDo(t)(e.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: aws.String("a-read"), PolicyDocument: aws.String(readRepoPolicy)}))
	names, err := e.IAM.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: user})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names.PolicyNames, ",") != "a-read,ecr-all" {
		t.Fatalf("ListUserPolicies = %v", names.PolicyNames)
	}

	for _, c := range []struct {
		name, doc, code, msg string
	}{
		{"not json", "{", "MalformedPolicyDocument", ""},
		{"principal in identity policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"}]}`, "MalformedPolicyDocument", "principal"},
		{"no resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*"}]}`, "MalformedPolicyDocument", "resources"},
		{"too large", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:us-east-1:123456789012:repository/` + strings.Repeat("a", 2100) + `"}]}`, "LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user alice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: aws.String("bad"), PolicyDocument: aws.String(c.doc)})
			wantAPIError(t, err, c.code, c.msg)
		})
	}
	// Nothing of the rejected documents was stored.
	names, _ = e.IAM.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: user})
	if len(names.PolicyNames) != 2 {
		t.Fatalf("after rejections: %v", names.PolicyNames)
	}
	_, err = e.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("nobody"), PolicyName: aws.String("p"), PolicyDocument: aws.String(readRepoPolicy)})
	wantAPIError(t, err, "NoSuchEntity", "nobody")
	_, err = e.IAM.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: user, PolicyName: aws.String("nope")})
	wantAPIError(t, err, "NoSuchEntity", "The user policy with name nope cannot be found.")
	mustDo(t)(e.IAM.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: user, PolicyName: aws.String("a-read")}))
	_, err = e.IAM.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: user, PolicyName: aws.String("a-read")})
	wantAPIError(t, err, "NoSuchEntity", "a-read")
}

func TestManagedPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	user := aws.String("alice")
	mustDo(t)(e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: user}))
	for _, name := range []string{"AmazonEC2ContainerRegistryReadOnly", "AmazonEC2ContainerRegistryPowerUser", "AmazonEC2ContainerRegistryFullAccess"} {
		mustDo(t)(e.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: aws.String(policy.ManagedPolicyARN(name))}))
	}
	// Attaching twice is fine.
	mustDo(t)(e.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: aws.String(policy.ManagedPolicyARN("AmazonEC2ContainerRegistryReadOnly"))}))
	list, err := e.IAM.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: user})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.AttachedPolicies) != 3 || *list.AttachedPolicies[0].PolicyName != "AmazonEC2ContainerRegistryFullAccess" ||
		*list.AttachedPolicies[0].PolicyArn != "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess" {
		t.Fatalf("ListAttachedUserPolicies = %+v", list.AttachedPolicies)
	}
	_, err = e.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
	wantAPIError(t, err, "NoSuchEntity", "Policy arn:aws:iam::aws:policy/AdministratorAccess does not exist or is not attachable.")
	_, err = e.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: aws.String("not-an-arn-at-all-really")})
	wantAPIError(t, err, "InvalidInput", "is not valid")
	_, err = e.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("nobody"), PolicyArn: aws.String(policy.ManagedPolicyARN("AmazonEC2ContainerRegistryReadOnly"))})
	wantAPIError(t, err, "NoSuchEntity", "nobody")

	// PoliciesFor exposes the documents for enforcement.
	p := auth.Principal{UserName: "alice", ARN: "arn:aws:iam::" + testAccount + ":user/alice"}
	docs, err := e.ID.PoliciesFor(ctx, &p)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 {
		t.Fatalf("PoliciesFor = %d documents", len(docs))
	}
	mustDo(t)(e.IAM.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: aws.String(policy.ManagedPolicyARN("AmazonEC2ContainerRegistryPowerUser"))}))
	_, err = e.IAM.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: aws.String(policy.ManagedPolicyARN("AmazonEC2ContainerRegistryPowerUser"))})
	wantAPIError(t, err, "NoSuchEntity", "was not found")
	_, err = e.IAM.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: aws.String("not-an-arn-at-all-really")})
	wantAPIError(t, err, "InvalidInput", "ARN not-an-arn-at-all-really is not valid.")
	_, err = e.IAM.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("nobody"), PolicyArn: aws.String(policy.ManagedPolicyARN("AmazonEC2ContainerRegistryReadOnly"))})
	wantAPIError(t, err, "NoSuchEntity", "The user with name nobody cannot be found.")
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out, err := e.IAM.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs"), Path: aws.String("/teams/")})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Group.Arn != "arn:aws:iam::"+testAccount+":group/teams/devs" || !strings.HasPrefix(*out.Group.GroupId, "AGPA") {
		t.Fatalf("CreateGroup = %+v", out.Group)
	}
	_, err = e.IAM.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("DEVS")})
	wantAPIError(t, err, "EntityAlreadyExists", "Group with name DEVS already exists.")
	mustDo(t)(e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	mustDo(t)(e.IAM.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")}))
	_, err = e.IAM.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("nogroup"), UserName: aws.String("alice")})
	wantAPIError(t, err, "NoSuchEntity", "The group with name nogroup cannot be found.")
	_, err = e.IAM.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("nobody")})
	wantAPIError(t, err, "NoSuchEntity", "nobody")
	g, err := e.IAM.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("devs")})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Users) != 1 || *g.Users[0].UserName != "alice" {
		t.Fatalf("GetGroup users = %+v", g.Users)
	}

	groupDoc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:DeleteRepository","Resource":"*"}]}`
	mustDo(t)(e.IAM.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("no-delete"), PolicyDocument: aws.String(groupDoc)}))
	_, err = e.IAM.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Statement":[]`)})
	wantAPIError(t, err, "MalformedPolicyDocument", "")
	_, err = e.IAM.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("nogroup"), PolicyName: aws.String("p"), PolicyDocument: aws.String(groupDoc)})
	wantAPIError(t, err, "NoSuchEntity", "nogroup")

	docs, err := e.ID.PoliciesFor(ctx, &auth.Principal{UserName: "alice"})
	if err != nil || len(docs) != 1 || docs[0] != groupDoc {
		t.Fatalf("PoliciesFor = %v, %v", docs, err)
	}

	_, err = e.IAM.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("devs")})
	wantAPIError(t, err, "DeleteConflict", "must remove users from group first")
	mustDo(t)(e.IAM.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")}))
	_, err = e.IAM.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")})
	wantAPIError(t, err, "NoSuchEntity", "")
	_, err = e.IAM.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("devs")})
	wantAPIError(t, err, "DeleteConflict", "must delete policies first")
	mustDo(t)(e.IAM.DeleteGroupPolicy(ctx, &iam.DeleteGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("no-delete")}))
	mustDo(t)(e.IAM.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("devs")}))
	_, err = e.IAM.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("devs")})
	wantAPIError(t, err, "NoSuchEntity", "devs")
}

func TestCallerIdentityAndAccessDenied(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	who, err := e.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *who.Account != testAccount || *who.Arn != "arn:aws:iam::"+testAccount+":root" || *who.UserId != testAccount {
		t.Fatalf("GetCallerIdentity(root) = %+v", who)
	}

	u, err := e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	k, err := e.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	aliceIAM, aliceSTS := e.clients(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey)
	who, err = aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *who.Arn != *u.User.Arn || *who.UserId != *u.User.UserId || *who.Account != testAccount {
		t.Fatalf("GetCallerIdentity(alice) = %+v", who)
	}
	_, err = aliceIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("mallory")})
	wantAPIError(t, err, "AccessDenied", "User: arn:aws:iam::"+testAccount+":user/alice is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::"+testAccount+":user/mallory because no identity-based policy allows the iam:CreateUser action")
	if _, err := e.ID.GetUser(ctx, "mallory"); err == nil {
		t.Fatal("denied CreateUser created the user")
	}

	// Wrong secret, unknown key.
	_, badSTS := e.clients(*k.AccessKey.AccessKeyId, strings.Repeat("x", 40))
	_, err = badSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "SignatureDoesNotMatch", "")
	_, unknownSTS := e.clients("AKIAUNKNOWNUNKNOWN01", strings.Repeat("x", 40))
	_, err = unknownSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.")
}

// TestKeyDeactivationRevokes: a deactivated key fails its next SigV4
// request (IAM, STS and ECR alike) and its login tokens stop working at
// once on this node; reactivating restores both; deleting revokes for good.
func TestKeyDeactivationRevokes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	user := aws.String("alice")
	mustDo(t)(e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: user}))
	k, err := e.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if err != nil {
		t.Fatal(err)
	}
	keyID, secret := *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey
	_, aliceSTS := e.clients(keyID, secret)
	ecrVerifier := &auth.Verifier{Keys: e.ID, Region: testRegion}

	// A login token minted with the key, as GetAuthorizationToken does.
	principal, err := e.ID.LookupAccessKey(ctx, keyID)
	if err != nil {
		t.Fatal(err)
	}
	token, _ := e.ID.Tokens().MintLoginToken(principal.Owner, keyID, time.Now())

	works := func() error {
		if _, err := aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			return err
		}
		if _, err := ecrVerifier.Verify(signedECRRequest(t, keyID, secret), []byte("{}"), "ecr"); err != nil {
			return err
		}
		_, err := e.ID.Tokens().VerifyLoginToken(ctx, token)
		return err
	}
	if err := works(); err != nil {
		t.Fatalf("active key: %v", err)
	}

	mustDo(t)(e.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: user, AccessKeyId: &keyID, Status: iamtypes.StatusTypeInactive}))
	_, err = aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", "")
	var ae *auth.Error
	if _, err := ecrVerifier.Verify(signedECRRequest(t, keyID, secret), []byte("{}"), "ecr"); !errors.As(err, &ae) || ae.Code != "UnrecognizedClientException" {
		t.Fatalf("ECR with an inactive key: %v", err)
	}
	if _, err := e.ID.Tokens().VerifyLoginToken(ctx, token); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("login token of an inactive key: %v", err)
	}

	mustDo(t)(e.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: user, AccessKeyId: &keyID, Status: iamtypes.StatusTypeActive}))
	if err := works(); err != nil {
		t.Fatalf("reactivated key: %v", err)
	}

	mustDo(t)(e.IAM.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyId: &keyID}))
	_, err = aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", "")
	if _, err := e.ID.Tokens().VerifyLoginToken(ctx, token); !errors.As(err, &ae) {
		t.Fatalf("login token of a deleted key: %v", err)
	}
}

// signedECRRequest is an ECR JSON request signed with the key.
func signedECRRequest(t *testing.T, keyID, secret string) *http.Request {
	t.Helper()
	body := []byte("{}")
	r := httptest.NewRequest(http.MethodPost, "http://berth.test/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), "ecr", testRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestWireFormat checks raw XML shapes and protocol errors the SDK hides.
func TestWireFormat(t *testing.T) {
	e := newEnv(t)
	post := func(service string, form url.Values) (int, string) {
		t.Helper()
		body := []byte(form.Encode())
		r, err := http.NewRequest(http.MethodPost, e.URL+"/", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret},
			r, hex.EncodeToString(sum[:]), service, testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := e.srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
			t.Fatalf("Content-Type = %q", ct)
		}
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		name    string
		service string
		form    url.Values
		status  int
		want    []string
	}{
		{"create user", "iam", url.Values{"Action": {"CreateUser"}, "Version": {"2010-05-08"}, "UserName": {"wire"}}, 200,
			[]string{`<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateUserResult><User><Path>/</Path><UserName>wire</UserName><UserId>AIDA`, `</CreateUserResult><ResponseMetadata><RequestId>`}},
		{"delete has no result", "iam", url.Values{"Action": {"DeleteUser"}, "Version": {"2010-05-08"}, "UserName": {"wire"}}, 200,
			[]string{`<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>`}},
		{"no such entity", "iam", url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}, "UserName": {"wire"}}, 404,
			[]string{`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name wire cannot be found.</Message></Error><RequestId>`}},
		{"missing parameter", "iam", url.Values{"Action": {"CreateUser"}, "Version": {"2010-05-08"}}, 400,
			[]string{`<Code>ValidationError</Code><Message>1 validation error detected: Value null at &#39;userName&#39; failed to satisfy constraint: Member must not be null</Message>`}},
		{"unknown action", "iam", url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}}, 400,
			[]string{`<Code>InvalidAction</Code><Message>Could not find operation CreateRole for version 2010-05-08</Message>`}},
		{"wrong version", "iam", url.Values{"Action": {"ListUsers"}, "Version": {"2011-06-15"}}, 400,
			[]string{`<Code>InvalidAction</Code>`}},
		{"missing action", "iam", url.Values{"Version": {"2010-05-08"}}, 400, []string{`<Code>MissingAction</Code>`}},
		{"sts", "sts", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, 200,
			[]string{`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><UserId>123456789012</UserId><Account>123456789012</Account><Arn>arn:aws:iam::123456789012:root</Arn></GetCallerIdentityResult>`}},
		{"iam action on sts", "sts", url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}, 400, []string{`<Code>InvalidAction</Code>`}},
		{"empty list", "iam", url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}, 200,
			[]string{`<ListUsersResult><Users></Users><IsTruncated>false</IsTruncated></ListUsersResult>`}},
		{"bad max items", "iam", url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}, "MaxItems": {"0"}}, 400, []string{`<Code>ValidationError</Code>`}},
		{"bad path prefix", "iam", url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}, "PathPrefix": {"eng/"}}, 400,
			[]string{`<Type>Sender</Type><Code>ValidationError</Code><Message>1 validation error detected: Value &#39;eng/&#39; at &#39;pathPrefix&#39; failed to satisfy constraint`}},
		{"root key needs a user name", "iam", url.Values{"Action": {"CreateAccessKey"}, "Version": {"2010-05-08"}}, 400,
			[]string{`<Code>ValidationError</Code><Message>Must specify userName when calling with non-User credentials</Message>`}},
		{"missing key status", "iam", url.Values{"Action": {"UpdateAccessKey"}, "Version": {"2010-05-08"}, "UserName": {"wire"}, "AccessKeyId": {"AKIAAAAAAAAAAAAAAAAA"}}, 400,
			[]string{`<Code>ValidationError</Code><Message>1 validation error detected: Value null at &#39;status&#39; failed to satisfy constraint: Member must not be null</Message>`}},
		{"bad key status", "iam", url.Values{"Action": {"UpdateAccessKey"}, "Version": {"2010-05-08"}, "UserName": {"wire"}, "AccessKeyId": {"AKIAAAAAAAAAAAAAAAAA"}, "Status": {"Enabled"}}, 400,
			[]string{`<Code>ValidationError</Code><Message>1 validation error detected: Value &#39;Enabled&#39; at &#39;status&#39; failed to satisfy constraint: Member must satisfy enum value set`}},
		{"missing policy document", "iam", url.Values{"Action": {"PutUserPolicy"}, "Version": {"2010-05-08"}, "UserName": {"wire"}, "PolicyName": {"p"}}, 400,
			[]string{`<Code>ValidationError</Code><Message>1 validation error detected: Value null at &#39;policyDocument&#39; failed to satisfy constraint: Member must not be null</Message>`}},
		{"missing policy arn", "iam", url.Values{"Action": {"DetachUserPolicy"}, "Version": {"2010-05-08"}, "UserName": {"wire"}}, 400,
			[]string{`<Code>ValidationError</Code><Message>1 validation error detected: Value null at &#39;policyArn&#39; failed to satisfy constraint: Member must not be null</Message>`}},
		{"missing member", "iam", url.Values{"Action": {"AddUserToGroup"}, "Version": {"2010-05-08"}, "GroupName": {"g"}}, 400,
			[]string{`<Code>ValidationError</Code><Message>1 validation error detected: Value null at &#39;userName&#39; failed to satisfy constraint: Member must not be null</Message>`}},
		{"no such group", "iam", url.Values{"Action": {"GetGroup"}, "Version": {"2010-05-08"}, "GroupName": {"nogroup"}}, 404,
			[]string{`<Code>NoSuchEntity</Code><Message>The group with name nogroup cannot be found.</Message>`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(c.service, c.form)
			if status != c.status {
				t.Fatalf("status = %d, want %d; body %s", status, c.status, body)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Fatalf("body %s\ndoes not contain %s", body, w)
				}
			}
		})
	}

	// Unsigned: IAM's missing-token error.
	resp, err := e.srv.Client().Post(e.URL+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=ListUsers&Version=2010-05-08"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "<Code>MissingAuthenticationToken</Code>") {
		t.Fatalf("unsigned: %d %s", resp.StatusCode, b)
	}
	// Oversized body.
	resp, err = e.srv.Client().Post(e.URL+"/", "application/x-www-form-urlencoded", strings.NewReader("a="+strings.Repeat("x", iamapi.MaxBodySize)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d", resp.StatusCode)
	}
}

func TestIsQueryRequest(t *testing.T) {
	cases := []struct {
		name, method, path, ctype, target string
		want                              bool
	}{
		{"iam", "POST", "/", "application/x-www-form-urlencoded; charset=utf-8", "", true},
		{"plain form", "POST", "/", "application/x-www-form-urlencoded", "", true},
		{"ecr json", "POST", "/", "application/x-amz-json-1.1", "AmazonEC2ContainerRegistry_V20150921.ListImages", false},
		{"form with target", "POST", "/", "application/x-www-form-urlencoded", "X.Y", false},
		{"get", "GET", "/", "application/x-www-form-urlencoded", "", false},
		{"other path", "POST", "/v2/", "application/x-www-form-urlencoded", "", false},
		{"no content type", "POST", "/", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, c.path, nil)
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			if c.target != "" {
				r.Header.Set("X-Amz-Target", c.target)
			}
			if got := iamapi.IsQueryRequest(r); got != c.want {
				t.Fatalf("IsQueryRequest = %v, want %v", got, c.want)
			}
		})
	}
}
