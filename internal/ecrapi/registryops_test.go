package ecrapi

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/berth-registry/berth/internal/auth"
)

func TestDescribeRegistry(t *testing.T) {
	env := newTestEnv(t)
	out, err := env.Client.DescribeRegistry(context.Background(), &ecr.DescribeRegistryInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.RegistryId) != testAccount || out.ReplicationConfiguration == nil || len(out.ReplicationConfiguration.Rules) != 0 {
		t.Fatalf("output %+v", out)
	}
	status, raw := env.call(t, "DescribeRegistry", map[string]any{})
	rc, ok := raw["replicationConfiguration"].(map[string]any)
	if status != 200 || !ok || rc["rules"] == nil || len(rc["rules"].([]any)) != 0 {
		t.Fatalf("raw output %d %v: want replicationConfiguration.rules = []", status, raw)
	}
}

func TestGetAuthorizationToken(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	tests := []struct {
		name        string
		registryIDs []string
		entries     int
		code        string
	}{
		{"default", nil, 1, ""},
		{"own registry", []string{testAccount}, 1, ""},
		{"other registry", []string{"000000000000"}, 0, "InvalidParameterException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			out, err := env.Client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{RegistryIds: tc.registryIDs})
			wantErrorCode(t, err, tc.code, "")
			if tc.code != "" {
				return
			}
			if len(out.AuthorizationData) != tc.entries {
				t.Fatalf("%d entries, want %d", len(out.AuthorizationData), tc.entries)
			}
			d := out.AuthorizationData[0]
			if aws.ToString(d.ProxyEndpoint) != env.URL {
				t.Fatalf("proxyEndpoint = %q, want %q", aws.ToString(d.ProxyEndpoint), env.URL)
			}
			wantExp := before.Add(12 * time.Hour)
			if d.ExpiresAt == nil || d.ExpiresAt.Before(wantExp.Add(-2*time.Second)) || d.ExpiresAt.After(wantExp.Add(2*time.Second)) {
				t.Fatalf("expiresAt = %v, want about %v", d.ExpiresAt, wantExp)
			}
			raw, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
			if err != nil {
				t.Fatalf("token is not base64: %v", err)
			}
			user, token, ok := strings.Cut(string(raw), ":")
			if !ok || user != "AWS" {
				t.Fatalf("token %q is not AWS:<password>", raw)
			}
			p, err := env.Tokens.VerifyLoginToken(ctx, token)
			if err != nil {
				t.Fatalf("login token does not verify: %v", err)
			}
			if p.AccessKeyID != testAKID || !p.IsRoot || p.AccountID != testAccount {
				t.Fatalf("token principal %+v", p)
			}
		})
	}

	t.Run("revoked with its key", func(t *testing.T) {
		out, err := env.Client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
		key := env.Keys[testAKID]
		key.Status = auth.KeyInactive
		env.Keys[testAKID] = key
		defer func() { key.Status = auth.KeyActive; env.Keys[testAKID] = key }()
		env.Tokens.Forget(testAKID)
		if _, err := env.Tokens.VerifyLoginToken(ctx, strings.TrimPrefix(string(raw), "AWS:")); err == nil {
			t.Fatal("token of an inactive key still verifies")
		}
	})
}

func TestAccountSettingOps(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	steps := []struct {
		name  string
		put   bool
		key   string
		value string // put: the value; get: the wanted value
		code  string
		msg   string
	}{
		{name: "blob mounting default", key: "BLOB_MOUNTING", value: "DISABLED"},
		{name: "policy scope default", key: "REGISTRY_POLICY_SCOPE", value: "V2"},
		{name: "scan type default", key: "BASIC_SCAN_TYPE_VERSION", value: "AWS_NATIVE"},
		{name: "enable blob mounting", put: true, key: "BLOB_MOUNTING", value: "ENABLED"},
		{name: "blob mounting enabled", key: "BLOB_MOUNTING", value: "ENABLED"},
		{name: "policy scope v1", put: true, key: "REGISTRY_POLICY_SCOPE", value: "V1"},
		{name: "policy scope is v1", key: "REGISTRY_POLICY_SCOPE", value: "V1"},
		{name: "bad value", put: true, key: "BLOB_MOUNTING", value: "YES", code: "InvalidParameterException", msg: "value"},
		{name: "unchanged after bad value", key: "BLOB_MOUNTING", value: "ENABLED"},
		{name: "unknown name get", key: "NO_SUCH_SETTING", code: "InvalidParameterException", msg: "name"},
		{name: "unknown name put", put: true, key: "NO_SUCH_SETTING", value: "V1", code: "InvalidParameterException", msg: "name"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var name, value string
			var err error
			if st.put {
				var out *ecr.PutAccountSettingOutput
				out, err = env.Client.PutAccountSetting(ctx, &ecr.PutAccountSettingInput{Name: aws.String(st.key), Value: aws.String(st.value)})
				if err == nil {
					name, value = aws.ToString(out.Name), aws.ToString(out.Value)
				}
			} else {
				var out *ecr.GetAccountSettingOutput
				out, err = env.Client.GetAccountSetting(ctx, &ecr.GetAccountSettingInput{Name: aws.String(st.key)})
				if err == nil {
					name, value = aws.ToString(out.Name), aws.ToString(out.Value)
				}
			}
			wantErrorCode(t, err, st.code, st.msg)
			if st.code == "" && (name != st.key || value != st.value) {
				t.Fatalf("got %s=%s, want %s=%s", name, value, st.key, st.value)
			}
		})
	}
	// Persisted in the shared settings, where the core reads it.
	v, err := env.Core.AccountSetting(ctx, "BLOB_MOUNTING")
	if err != nil || v != "ENABLED" {
		t.Fatalf("core sees %q, %v", v, err)
	}
}
