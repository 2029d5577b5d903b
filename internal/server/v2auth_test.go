package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"

	"github.com/berth-registry/berth/internal/config"
)

const (
	testRootKeyID  = "AKIATESTROOTKEY00001"
	testRootSecret = "testRootSecretAccessKey/0123456789+abcde"
)

func authConfig(t *testing.T) config.Config {
	cfg := testConfig(t)
	cfg.AccountID = "123456789012"
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = testRootKeyID, testRootSecret
	return cfg
}

func ecrClient(base, keyID, secret string) *ecr.Client {
	return ecr.New(ecr.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(base),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts: 1,
	})
}

// loginToken gets a /v2 password the way docker-credential-ecr-login does.
func loginToken(t *testing.T, c *ecr.Client) (user, pass string) {
	t.Helper()
	out, err := c.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ = strings.Cut(string(raw), ":")
	return user, pass
}

func TestV2Authentication(t *testing.T) {
	cfg := authConfig(t)
	s, _ := newServer(t, cfg)
	base, _ := start(t, s)
	user, token := loginToken(t, ecrClient(base, testRootKeyID, testRootSecret))
	if user != "AWS" {
		t.Fatalf("login user %q, want AWS", user)
	}
	challenge := `Basic realm="` + cfg.PublicURL + `/",service="ecr.amazonaws.com"`
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	tests := []struct {
		name, path, authz string
		want              int
		wantMsg           string
	}{
		{"probe without credentials", "/v2/", "", 401, "Not Authorized"},
		{"catalog without credentials", "/v2/_catalog", "", 401, "Not Authorized"},
		{"manifest without credentials", "/v2/app/manifests/latest", "", 401, "Not Authorized"},
		{"wrong user", "/v2/", basic("admin", token), 401, "invalid"},
		{"garbage token", "/v2/", basic("AWS", "not-a-token"), 401, "invalid"},
		{"tampered token", "/v2/", basic("AWS", token[:len(token)-2]+"AA"), 401, ""},
		{"bearer", "/v2/", "Bearer " + token, 401, ""},
		{"login token", "/v2/", basic("AWS", token), 200, ""},
		{"login token on catalog", "/v2/_catalog", basic("AWS", token), 200, ""},
		{"login token on a missing repository", "/v2/app/manifests/latest", basic("AWS", token), 404, "NAME_UNKNOWN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.authz != "" {
				h.Set("Authorization", tc.authz)
			}
			resp, body := do(t, "GET", base+tc.path, nil, h)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if !strings.Contains(body, tc.wantMsg) {
				t.Fatalf("body %q lacks %q", body, tc.wantMsg)
			}
			if got := resp.Header.Get("WWW-Authenticate"); (tc.want == 401) != (got == challenge) {
				t.Fatalf("WWW-Authenticate = %q (status %d)", got, resp.StatusCode)
			}
		})
	}
}

func TestECRAPIWired(t *testing.T) {
	cfg := authConfig(t)
	s, _ := newServer(t, cfg)
	base, _ := start(t, s)
	ctx := context.Background()
	c := ecrClient(base, testRootKeyID, testRootSecret)
	out, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Repository.RepositoryArn); got != "arn:aws:ecr:us-east-1:123456789012:repository/team/app" {
		t.Fatalf("ARN %s", got)
	}
	if got := aws.ToString(out.Repository.RepositoryUri); got != "127.0.0.1:5000/team/app" {
		t.Fatalf("URI %s", got)
	}
	reg, err := c.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
	if err != nil || aws.ToString(reg.RegistryId) != "123456789012" {
		t.Fatalf("DescribeRegistry: %v %v", reg, err)
	}
	// The core names the account too.
	_, err = c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "RepositoryNotFoundException" || !strings.Contains(ae.ErrorMessage(), "'123456789012'") {
		t.Fatalf("err = %v", err)
	}
	// A wrong secret or an unknown key is refused.
	for _, bad := range []*ecr.Client{ecrClient(base, testRootKeyID, "wrong-secret-wrong-secret"), ecrClient(base, "AKIAUNKNOWN000000000", testRootSecret)} {
		_, err := bad.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
		if !errors.As(err, &ae) || (ae.ErrorCode() != "InvalidSignatureException" && ae.ErrorCode() != "UnrecognizedClientException") {
			t.Fatalf("bad credentials: %v", err)
		}
	}
	// The login token lets the pushed repository be listed over /v2.
	_, token := loginToken(t, c)
	h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+token))}}
	resp, body := do(t, "GET", base+"/v2/_catalog", nil, h)
	if resp.StatusCode != 200 || !strings.Contains(body, "team/app") {
		t.Fatalf("catalog %d %s", resp.StatusCode, body)
	}
}

// TestRootKeyAnnouncedOnce: a first start without configured credentials
// generates the root key and prints it once, to the announce writer and
// never to the log; a restart reuses it silently.
func TestRootKeyAnnouncedOnce(t *testing.T) {
	cfg := testConfig(t)
	startOnce := func() (*Server, string, string) {
		var announce bytes.Buffer
		logs := &syncBuffer{}
		log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		s, err := New(context.Background(), cfg, log, WithAnnounce(&announce))
		if err != nil {
			t.Fatal(err)
		}
		return s, announce.String(), logs.String()
	}
	s1, announce, logs := startOnce()
	m := regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+)\n  AWS_SECRET_ACCESS_KEY=(\S+)`).FindStringSubmatch(announce)
	if m == nil {
		t.Fatalf("no credentials announced: %q", announce)
	}
	keyID, secret := m[1], m[2]
	if strings.Contains(logs, secret) {
		t.Fatal("the secret was logged")
	}
	if !strings.Contains(logs, keyID) {
		t.Fatal("the key id was not logged")
	}
	accountID := s1.Identity().AccountID()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	s2, announce, logs := startOnce()
	if announce != "" || strings.Contains(logs, secret) {
		t.Fatalf("restart announced %q or logged the secret", announce)
	}
	if s2.Identity().AccountID() != accountID || s2.Identity().RootAccessKeyID() != keyID {
		t.Fatal("restart changed the identity")
	}
	base, stop := start(t, s2)
	if _, err := ecrClient(base, keyID, secret).DescribeRegistry(context.Background(), &ecr.DescribeRegistryInput{}); err != nil {
		t.Fatalf("announced credentials do not work: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
