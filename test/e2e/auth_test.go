package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/berth-registry/berth/test/internal/harness"
)

// region is the AWS region berth answers as by default.
const region = harness.Region

// loginUser is the Basic user of ECR login tokens.
const loginUser = harness.LoginUser

// ecrClient is an AWS SDK ECR client for berth, signed with the root keys.
// It never retries, so tests see exactly what berth answered.
func (s *server) ecrClient() *ecr.Client {
	return s.ECRClient(func(o *ecr.Options) { o.RetryMaxAttempts = 1 })
}

// login fetches an ECR login token, the password every /v2 client presents
// as Basic user AWS.
func (s *server) login(t testing.TB) {
	t.Helper()
	pass, err := harness.Login(t.Context(), s.ecrClient())
	if err != nil {
		t.Fatalf("logging in to berth: %v", err)
	}
	s.mu.Lock()
	s.token = pass
	s.mu.Unlock()
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
