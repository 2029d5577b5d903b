package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
)

// region is the AWS region berth answers as by default.
const region = "us-east-1"

// loginUser is the Basic user of ECR login tokens.
const loginUser = "AWS"

// randomString returns n characters drawn from alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// newRootKeys returns a fresh root access key pair for a test server.
func newRootKeys() (id, secret string) {
	return "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
		randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}

// ecrClient is an AWS SDK ECR client for berth, signed with the root keys.
func (s *server) ecrClient() *ecr.Client {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	}
	return ecr.NewFromConfig(cfg, func(o *ecr.Options) {
		o.BaseEndpoint = aws.String("http://" + s.Addr)
		o.RetryMaxAttempts = 1
	})
}

// login fetches an ECR login token (GetAuthorizationToken), the password
// every /v2 client presents as Basic user AWS.
func (s *server) login(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := s.ecrClient().GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return fmt.Errorf("GetAuthorizationToken: %w", err)
	}
	if len(out.AuthorizationData) == 0 {
		return errors.New("GetAuthorizationToken: no authorization data")
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return fmt.Errorf("GetAuthorizationToken: token: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user != loginUser || pass == "" {
		return errors.New("GetAuthorizationToken: token is not AWS:<password>")
	}
	s.mu.Lock()
	s.token = pass
	s.mu.Unlock()
	return nil
}

// password is the current login token.
func (s *server) password() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// authenticator is the login token for go-containerregistry.
func (s *server) authenticator() authn.Authenticator {
	return &authn.Basic{Username: loginUser, Password: s.password()}
}

// setAccountSetting sets an ECR account setting (e.g. BLOB_MOUNTING=ENABLED).
func (s *server) setAccountSetting(ctx context.Context, name, value string) error {
	_, err := s.ecrClient().PutAccountSetting(ctx, &ecr.PutAccountSettingInput{Name: aws.String(name), Value: aws.String(value)})
	if err != nil {
		return fmt.Errorf("PutAccountSetting %s=%s: %w", name, value, err)
	}
	return nil
}

// dockerConfigDir writes a Docker client configuration holding the login
// token for this server into dir and returns dir. Docker, crane (through
// DOCKER_CONFIG) and skopeo (--authfile) read it, so the token never appears
// on a command line or in the user's own configuration.
func (s *server) dockerConfigDir(dir string) (string, error) {
	auth := base64.StdEncoding.EncodeToString([]byte(loginUser + ":" + s.password()))
	b, err := json.Marshal(map[string]any{"auths": map[string]any{s.Registry(): map[string]string{"auth": auth}}})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		return "", err
	}
	return dir, nil
}
