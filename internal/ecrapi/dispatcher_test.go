package ecrapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/berth-registry/berth/internal/auth"
)

const (
	testAKID    = "AKIAIOSFODNN7EXAMPLE"
	testSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testAccount = "123456789012"
)

var testPrincipal = auth.Principal{
	ARN: "arn:aws:iam::" + testAccount + ":user/alice", UserName: "alice",
	UserID: "AIDAEXAMPLEALICE", AccountID: testAccount,
}

type staticKeys map[string]auth.AccessKey

func (k staticKeys) LookupAccessKey(_ context.Context, id string) (auth.AccessKey, error) {
	if key, ok := k[id]; ok {
		return key, nil
	}
	return auth.AccessKey{}, fmt.Errorf("key %s: %w", id, auth.ErrKeyNotFound)
}

// describeRegistryOutput mirrors the model's DescribeRegistryResponse.
type describeRegistryOutput struct {
	RegistryID               string `json:"registryId"`
	ReplicationConfiguration struct {
		Rules []struct {
			Destinations []struct {
				Region     string `json:"region"`
				RegistryID string `json:"registryId"`
			} `json:"destinations"`
		} `json:"rules"`
	} `json:"replicationConfiguration"`
}

type repository struct {
	RepositoryName string    `json:"repositoryName"`
	RepositoryArn  string    `json:"repositoryArn"`
	RegistryID     string    `json:"registryId"`
	CreatedAt      EpochTime `json:"createdAt,omitzero"`
}

// testServer runs a Dispatcher with the real SigV4 verifier and some
// operations, and records what handlers saw.
type testServer struct {
	*httptest.Server
	logs bytes.Buffer

	mu        sync.Mutex
	principal *auth.Principal
	createIn  map[string]any
}

var testCreatedAt = time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC)

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{}
	verifier := &auth.Verifier{
		Keys:   staticKeys{testAKID: {ID: testAKID, Secret: testSecret, Status: auth.KeyActive, Owner: testPrincipal}},
		Region: "us-east-1",
	}
	d := NewDispatcher(verifier, slog.New(slog.NewTextHandler(&ts.logs, nil)))
	d.Register("DescribeRegistry", func(ctx context.Context, req *Request) (any, error) {
		ts.mu.Lock()
		ts.principal = req.Principal
		ts.mu.Unlock()
		var out describeRegistryOutput
		out.RegistryID = req.Principal.AccountID
		out.ReplicationConfiguration.Rules = append(out.ReplicationConfiguration.Rules, struct {
			Destinations []struct {
				Region     string `json:"region"`
				RegistryID string `json:"registryId"`
			} `json:"destinations"`
		}{Destinations: []struct {
			Region     string `json:"region"`
			RegistryID string `json:"registryId"`
		}{{Region: "eu-west-1", RegistryID: testAccount}}})
		return out, nil
	})
	d.Register("DescribeRepositories", func(ctx context.Context, req *Request) (any, error) {
		var in struct {
			RepositoryNames []string `json:"repositoryNames"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		if len(in.RepositoryNames) == 1 && in.RepositoryNames[0] == "team/app" {
			return map[string]any{"repositories": []repository{{
				RepositoryName: "team/app", RegistryID: testAccount, CreatedAt: EpochTime(testCreatedAt),
				RepositoryArn: "arn:aws:ecr:us-east-1:" + testAccount + ":repository/team/app",
			}}}, nil
		}
		return nil, Errorf("RepositoryNotFoundException",
			"The repository with name '%s' does not exist in the registry with id '%s'", strings.Join(in.RepositoryNames, ","), testAccount)
	})
	d.Register("CreateRepository", func(ctx context.Context, req *Request) (any, error) {
		ts.mu.Lock()
		ts.createIn = req.Params
		ts.mu.Unlock()
		return nil, errors.New("metadata store exploded: secret-detail")
	})
	d.Register("UploadLayerPart", func(ctx context.Context, req *Request) (any, error) {
		return nil, &APIError{Code: "InvalidLayerPartException", Status: 400, Message: "bad part",
			Fields: map[string]any{"lastValidByteReceived": 41, "uploadId": "u-1"}}
	})
	ts.Server = httptest.NewServer(d)
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) client(secret string) *ecr.Client {
	return ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(ts.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: secret}, nil
		}),
		Retryer: aws.NopRetryer{},
	})
}

func TestDispatcherWithSDK(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	client := ts.client(testSecret)

	t.Run("success decodes", func(t *testing.T) {
		out, err := client.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.RegistryId) != testAccount || len(out.ReplicationConfiguration.Rules) != 1 ||
			aws.ToString(out.ReplicationConfiguration.Rules[0].Destinations[0].Region) != "eu-west-1" {
			t.Fatalf("DescribeRegistry = %+v", out)
		}
		ts.mu.Lock()
		p := ts.principal
		ts.mu.Unlock()
		if p == nil || p.ARN != testPrincipal.ARN || p.AccessKeyID != testAKID {
			t.Fatalf("handler saw principal %+v", p)
		}
	})

	t.Run("timestamps decode", func(t *testing.T) {
		out, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"team/app"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Repositories) != 1 || !aws.ToTime(out.Repositories[0].CreatedAt).Equal(testCreatedAt) {
			t.Fatalf("repositories = %+v", out.Repositories)
		}
	})

	t.Run("modeled error type", func(t *testing.T) {
		_, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"team/missing"}})
		var nf *types.RepositoryNotFoundException
		if !errors.As(err, &nf) {
			t.Fatalf("err = %v (%T), want RepositoryNotFoundException", err, err)
		}
		if want := "The repository with name 'team/missing' does not exist in the registry with id '123456789012'"; nf.ErrorMessage() != want {
			t.Fatalf("message = %q", nf.ErrorMessage())
		}
		assertHTTPStatus(t, err, 400)
	})

	t.Run("validation error", func(t *testing.T) {
		_, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("Bad/Name")})
		var ip *types.InvalidParameterException
		if !errors.As(err, &ip) {
			t.Fatalf("err = %v (%T), want InvalidParameterException", err, err)
		}
		if !strings.HasPrefix(ip.ErrorMessage(), "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must satisfy regular expression pattern: ") {
			t.Fatalf("message = %q", ip.ErrorMessage())
		}
		ts.mu.Lock()
		called := ts.createIn != nil
		ts.mu.Unlock()
		if called {
			t.Fatal("handler ran for an invalid request")
		}
	})

	t.Run("internal error is a generic ServerException", func(t *testing.T) {
		_, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")})
		var se *types.ServerException
		if !errors.As(err, &se) {
			t.Fatalf("err = %v (%T), want ServerException", err, err)
		}
		if strings.Contains(se.ErrorMessage(), "secret-detail") || !strings.Contains(se.ErrorMessage(), "Request ID") {
			t.Fatalf("message = %q", se.ErrorMessage())
		}
		assertHTTPStatus(t, err, 500)
		if !strings.Contains(ts.logs.String(), "secret-detail") {
			t.Fatalf("internal error not logged: %s", ts.logs.String())
		}
	})

	t.Run("error with extra fields", func(t *testing.T) {
		_, err := client.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{
			RepositoryName: aws.String("app"), UploadId: aws.String("0b8e7c6e-3b0a-4b8a-9d47-6c0e0e0e0e0e"),
			PartFirstByte: aws.Int64(0), PartLastByte: aws.Int64(2), LayerPartBlob: []byte("abc"),
		})
		var lp *types.InvalidLayerPartException
		if !errors.As(err, &lp) {
			t.Fatalf("err = %v (%T)", err, err)
		}
		if aws.ToInt64(lp.LastValidByteReceived) != 41 || aws.ToString(lp.UploadId) != "u-1" || lp.ErrorMessage() != "bad part" {
			t.Fatalf("InvalidLayerPartException = %+v", lp)
		}
	})

	t.Run("bad signature", func(t *testing.T) {
		_, err := ts.client("wrong-secret").DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" ||
			!strings.HasPrefix(ae.ErrorMessage(), "The request signature we calculated does not match") {
			t.Fatalf("err = %v", err)
		}
		assertHTTPStatus(t, err, 403)
	})

	t.Run("unregistered operation", func(t *testing.T) {
		_, err := client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("app")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != CodeUnknownOperation {
			t.Fatalf("err = %v", err)
		}
	})
}

func assertHTTPStatus(t *testing.T, err error, want int) {
	t.Helper()
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != want {
		t.Fatalf("err = %v, want HTTP %d", err, want)
	}
}

func TestDispatcherRawHTTP(t *testing.T) {
	ts := newTestServer(t)
	post := func(t *testing.T, method, target, authz string, body io.Reader) (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+"/", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ContentType)
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("error body is not JSON: %v", err)
		}
		return resp, m
	}
	cases := []struct {
		name, method, target, authz string
		body                        io.Reader
		status                      int
		code, message               string
	}{
		{name: "missing auth", method: "POST", target: TargetPrefix + ".DescribeRegistry", body: strings.NewReader("{}"),
			status: 403, code: "MissingAuthenticationTokenException", message: "Missing Authentication Token"},
		{name: "malformed auth", method: "POST", target: TargetPrefix + ".DescribeRegistry", authz: "Bearer x", body: strings.NewReader("{}"),
			status: 400, code: "IncompleteSignatureException"},
		{name: "unknown operation", method: "POST", target: TargetPrefix + ".LaunchRockets", body: strings.NewReader("{}"),
			status: 400, code: CodeUnknownOperation},
		{name: "other service prefix", method: "POST", target: "DynamoDB_20120810.ListTables", body: strings.NewReader("{}"),
			status: 400, code: CodeUnknownOperation},
		{name: "no target", method: "POST", body: strings.NewReader("{}"), status: 400, code: CodeUnknownOperation},
		{name: "GET", method: "GET", target: TargetPrefix + ".DescribeRegistry", status: 400, code: CodeUnknownOperation},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := post(t, c.method, c.target, c.authz, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status = %d, want %d (%v)", resp.StatusCode, c.status, body)
			}
			if got := resp.Header.Get("X-Amzn-Errortype"); got != c.code {
				t.Fatalf("X-Amzn-Errortype = %q, want %q", got, c.code)
			}
			if body["__type"] != c.code {
				t.Fatalf("__type = %v, want %s", body["__type"], c.code)
			}
			if c.message != "" && body["message"] != c.message {
				t.Fatalf("message = %v, want %q", body["message"], c.message)
			}
			if resp.Header.Get("X-Amzn-Requestid") == "" || resp.Header.Get("Content-Type") != ContentType {
				t.Fatalf("headers = %v", resp.Header)
			}
		})
	}
}

// TestDispatcherBodyTooLarge uses a recorder: over a real connection the
// client may see a reset while still sending the body the server refused.
func TestDispatcherBodyTooLarge(t *testing.T) {
	d := NewDispatcher(&auth.Verifier{Keys: staticKeys{}}, nil)
	d.Register("DescribeRegistry", func(context.Context, *Request) (any, error) { return nil, nil })
	d.Register("UploadLayerPart", func(context.Context, *Request) (any, error) { return nil, nil })
	for _, c := range []struct {
		name, op string
		size     int
		chunked  bool
	}{
		{"declared", "DescribeRegistry", MaxBodySize + 1, false},
		{"chunked", "DescribeRegistry", MaxBodySize + 1, true},
		{"upload part", "UploadLayerPart", MaxUploadLayerPartSize + 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", bytes.NewReader(make([]byte, c.size)))
			if c.chunked {
				r.ContentLength = -1
			}
			r.Header.Set("X-Amz-Target", TargetPrefix+"."+c.op)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 x")
			rec := httptest.NewRecorder()
			d.ServeHTTP(rec, r)
			if rec.Code != 413 || rec.Header().Get("X-Amzn-Errortype") != CodeRequestEntityTooLarge {
				t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("X-Amzn-Errortype"))
			}
		})
	}
	// A part just under the upload limit is read and reaches authentication.
	r := httptest.NewRequest("POST", "/", bytes.NewReader(make([]byte, MaxBodySize+1)))
	r.Header.Set("X-Amz-Target", TargetPrefix+".UploadLayerPart")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 x")
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, r)
	if rec.Header().Get("X-Amzn-Errortype") != "IncompleteSignatureException" {
		t.Fatalf("a 1 MiB+1 upload part got %d %q", rec.Code, rec.Header().Get("X-Amzn-Errortype"))
	}
}

func TestDispatcherKeepsUpstreamRequestID(t *testing.T) {
	d := NewDispatcher(&auth.Verifier{Keys: staticKeys{}}, nil)
	d.Register("DescribeRegistry", func(context.Context, *Request) (any, error) { return nil, nil })
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Amzn-Requestid", "req-123")
	r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	r.Header.Set("X-Amz-Target", TargetPrefix+".DescribeRegistry")
	d.ServeHTTP(rec, r)
	if got := rec.Header().Get("X-Amzn-Requestid"); got != "req-123" {
		t.Fatalf("request id = %q", got)
	}
}

func TestRegisterPanicsOnProgrammingErrors(t *testing.T) {
	d := NewDispatcher(nil, nil)
	h := func(context.Context, *Request) (any, error) { return nil, nil }
	for name, fn := range map[string]func(){
		"unknown op": func() { d.Register("LaunchRockets", h) },
		"duplicate":  func() { d.Register("ListImages", h); d.Register("ListImages", h) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Register did not panic")
				}
			}()
			fn()
		})
	}
}

// TestAWSCLI drives the dispatcher with the real AWS CLI, which signs
// differently from the Go SDK (no Content-Length, no SDK headers).
func TestAWSCLI(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("aws CLI not installed; it is required in CI")
		}
		t.Skip("aws CLI not installed")
	}
	ts := newTestServer(t)
	home := t.TempDir()
	run := func(args ...string) (string, string, error) {
		cmd := exec.Command(awsPath, append(args, "--endpoint-url", ts.URL, "--region", "us-east-1", "--output", "json")...)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + home,
			"AWS_ACCESS_KEY_ID=" + testAKID,
			"AWS_SECRET_ACCESS_KEY=" + testSecret,
			"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
			"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
			"AWS_EC2_METADATA_DISABLED=true",
			"AWS_PAGER=",
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	out, stderr, err := run("ecr", "describe-registry")
	if err != nil {
		t.Fatalf("aws ecr describe-registry: %v\n%s", err, stderr)
	}
	var got struct {
		RegistryID               string `json:"registryId"`
		ReplicationConfiguration struct {
			Rules []json.RawMessage `json:"rules"`
		} `json:"replicationConfiguration"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.RegistryID != testAccount || len(got.ReplicationConfiguration.Rules) != 1 {
		t.Fatalf("describe-registry output %q (%v)", out, err)
	}

	_, stderr, err = run("ecr", "describe-repositories", "--repository-names", "team/missing")
	if err == nil {
		t.Fatal("describe-repositories of a missing repository succeeded")
	}
	want := "An error occurred (RepositoryNotFoundException) when calling the DescribeRepositories operation: " +
		"The repository with name 'team/missing' does not exist in the registry with id '123456789012'"
	if !strings.Contains(stderr, want) {
		t.Fatalf("stderr = %q, want it to contain %q", stderr, want)
	}
}
