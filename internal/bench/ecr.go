package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// ecrLogin calls GetAuthorizationToken at endpoint with the AWS SDK's
// default credential chain (environment, shared files, ...) and returns
// the Basic user and password it grants, as docker-credential-ecr-login.
func ecrLogin(ctx context.Context, endpoint string, timeout time.Duration) (user, pass string, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return "", "", fmt.Errorf("bench: ECR login: AWS config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	c := ecr.NewFromConfig(cfg, func(o *ecr.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 1
	})
	out, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", "", fmt.Errorf("bench: ECR login: %w", err)
	}
	if len(out.AuthorizationData) == 0 {
		return "", "", fmt.Errorf("bench: ECR login: no authorization data")
	}
	return decodeECRToken(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
}

// decodeECRToken splits a base64 "user:password" authorization token.
func decodeECRToken(tok string) (user, pass string, err error) {
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return "", "", fmt.Errorf("bench: ECR login: token: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return "", "", fmt.Errorf("bench: ECR login: token is not user:password")
	}
	return user, pass, nil
}
