package server

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// TestIAMOnTheSameListener: IAM, STS and ECR share POST /; an IAM user's
// key made through IAM authenticates ECR and /v2 (via its login token), and
// deactivating it revokes both on the next request.
func TestIAMOnTheSameListener(t *testing.T) {
	cfg := testConfig(t)
	cfg.RootAccessKeyID = "AKIAROOTROOTROOT0001"
	cfg.RootSecretAccessKey = "rootsecretrootsecretrootsecretrootsecret"
	s, _ := newServer(t, cfg)
	base, _ := start(t, s)
	ctx := context.Background()
	creds := func(id, secret string) aws.CredentialsProvider {
		return credentials.NewStaticCredentialsProvider(id, secret, "")
	}
	root := creds(cfg.RootAccessKeyID, cfg.RootSecretAccessKey)
	iamc := iam.New(iam.Options{Region: cfg.Region, BaseEndpoint: aws.String(base), Credentials: root, RetryMaxAttempts: 1})

	if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("puller")}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("puller"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly")}); err != nil {
		t.Fatal(err)
	}
	k, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("puller")})
	if err != nil {
		t.Fatal(err)
	}
	user := creds(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey)

	stsc := sts.New(sts.Options{Region: cfg.Region, BaseEndpoint: aws.String(base), Credentials: user, RetryMaxAttempts: 1})
	who, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:iam::" + s.Identity().AccountID() + ":user/puller"; *who.Arn != want {
		t.Fatalf("GetCallerIdentity = %s, want %s", *who.Arn, want)
	}

	ecrc := ecr.New(ecr.Options{Region: cfg.Region, BaseEndpoint: aws.String(base), Credentials: user, RetryMaxAttempts: 1})
	tok, err := ecrc.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(*tok.AuthorizationData[0].AuthorizationToken)
	if err != nil {
		t.Fatal(err)
	}
	v2 := func() int {
		resp, _ := do(t, http.MethodGet, base+"/v2/", nil, http.Header{
			"Authorization": {"Basic " + base64.StdEncoding.EncodeToString(raw)},
		})
		return resp.StatusCode
	}
	if got := v2(); got != http.StatusOK {
		t.Fatalf("/v2/ with the user's login token: %d", got)
	}

	if _, err := iamc.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("puller"),
		AccessKeyId: k.AccessKey.AccessKeyId, Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	_, err = ecrc.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnrecognizedClientException" {
		t.Fatalf("ECR with a deactivated key: %v", err)
	}
	if got := v2(); got != http.StatusUnauthorized {
		t.Fatalf("/v2/ with a deactivated key's login token: %d", got)
	}
	_, err = stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" {
		t.Fatalf("STS with a deactivated key: %v", err)
	}

	// The JSON API still answers unknown targets as before.
	resp, body := do(t, http.MethodPost, base+"/", strings.NewReader("{}"), http.Header{
		"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"Nope.Op"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "UnknownOperationException") {
		t.Fatalf("unknown JSON target: %d %s", resp.StatusCode, body)
	}
}
