package ecrcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-registry/berth/test/internal/harness"
)

// The names the walkthrough uses.
const (
	repoName = "my-nginx-repo"
	region   = "us-east-1"
)

// TestSeedWorkflow runs the walkthrough of seed/ECR.md against berth: create
// the repository, log in with get-login-password, build, tag and push an
// image, describe it, remove it locally, pull it back and run it, delete the
// repository; then the error shapes a user meets on the way.
func TestSeedWorkflow(t *testing.T) {
	awsBin := harness.RequireTool(t, "aws")
	images := chooseImageClient(t)
	s := startServer(t)
	aws := newAWSCLI(t, awsBin, s)
	start := time.Now()

	// Build the program the image runs first: a tiny static binary printing
	// a token unique to this run, so the output proves we run what we pushed.
	token := fmt.Sprintf("berth-ecrcli-%d", time.Now().UnixNano())
	appDir := harness.BuildHello(t, token)

	// 2. Create an ECR repository.
	created := aws.json(t, "ecr", "create-repository",
		"--repository-name", repoName,
		"--image-scanning-configuration", "scanOnPush=true",
		"--image-tag-mutability", "MUTABLE",
		"--region", region)
	repo := checkRepository(t, "create-repository", created, s.Addr(), start, time.Now())
	account := repo.RegistryID
	uri := s.Addr() + "/" + repoName
	image := uri + ":latest"

	// 3. Authenticate the image client with get-login-password.
	password := aws.must(t, "ecr", "get-login-password", "--region", region).Stdout
	if strings.TrimSpace(password) == "" {
		t.Fatal("aws ecr get-login-password printed nothing")
	}
	checkV2Auth(t, s, strings.TrimSpace(password))
	images.login(t, s.Addr(), password)

	// 4-6. Build, tag and push.
	pushStart := time.Now()
	digest := images.buildTagPush(t, appDir, image, uri)

	// 7. Verify the image in ECR.
	described := aws.json(t, "ecr", "describe-images", "--repository-name", repoName, "--region", region)
	checkImages(t, described, account, digest, pushStart, time.Now())

	// 8. Pull it back into a clean local state and run it.
	images.removePullRun(t, image, digest, password, "hello from "+token)

	// 9. Clean up: delete the repository, images and all.
	deleted := aws.json(t, "ecr", "delete-repository", "--repository-name", repoName, "--force", "--region", region)
	gone := checkRepository(t, "delete-repository", deleted, s.Addr(), start, time.Now())
	if gone.CreatedAt != repo.CreatedAt {
		t.Errorf("delete-repository: createdAt %s, create-repository printed %s", gone.CreatedAt, repo.CreatedAt)
	}

	// Error shape: the CLI exits non-zero and prints the ECR exception and
	// its message, for a name that never existed and for the deleted one.
	for _, name := range []string{"nope", repoName} {
		r := aws.run(t, "ecr", "describe-repositories", "--repository-names", name, "--region", region)
		checkCLIError(t, r, "RepositoryNotFoundException",
			fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, account))
	}

	// A wrong password does not log in.
	images.loginFails(t, s.Addr(), "AWS", "not-a-token")
}

// checkV2Auth checks the /v2/ authentication challenge docker login relies
// on, and that the get-login-password token (and only it) is accepted.
func checkV2Auth(t *testing.T, s *server, password string) {
	t.Helper()
	get := func(user, pass string, auth bool) (*http.Response, error) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/v2/", nil)
		if err != nil {
			return nil, err
		}
		if auth {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return resp, nil
	}

	resp, err := get("", "", false)
	if err != nil {
		t.Fatalf("GET /v2/: %v", err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v2/ without credentials: status %d, want 401", resp.StatusCode)
	}
	// ECR's challenge is Basic realm="https://<host>/",service="ecr.amazonaws.com";
	// berth's realm is its public URL, with or without the trailing slash.
	challenge := resp.Header.Get("WWW-Authenticate")
	want := fmt.Sprintf(`Basic realm="%s",service="ecr.amazonaws.com"`, s.URL())
	wantSlash := fmt.Sprintf(`Basic realm="%s/",service="ecr.amazonaws.com"`, s.URL())
	if challenge != want && challenge != wantSlash {
		t.Errorf("GET /v2/ without credentials: WWW-Authenticate %q, want %q", challenge, want)
	}

	for _, tt := range []struct {
		name, user, pass string
		status           int
	}{
		{"login token", "AWS", password, http.StatusOK},
		{"wrong password", "AWS", "not-a-token", http.StatusUnauthorized},
		{"wrong user", "root", password, http.StatusUnauthorized},
		{"secret key as password", "AWS", s.SecretKey, http.StatusUnauthorized},
	} {
		resp, err := get(tt.user, tt.pass, true)
		if err != nil {
			t.Fatalf("GET /v2/ (%s): %v", tt.name, err)
		}
		if resp.StatusCode != tt.status {
			t.Errorf("GET /v2/ with Basic %s (%s): status %d, want %d", tt.user, tt.name, resp.StatusCode, tt.status)
		}
	}
}

// reporter is the part of testing.TB the output checks use, so that their
// own tests can record what they report.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// repository is what the test keeps of a printed repository.
type repository struct {
	RegistryID string
	CreatedAt  json.Number
}

// checkRepository checks the JSON create-repository and delete-repository
// print: exactly the members the walkthrough shows, with berth's values.
func checkRepository(t reporter, cmd string, out map[string]any, addr string, notBefore, notAfter time.Time) repository {
	t.Helper()
	checkKeys(t, cmd, out, []string{"repository"}, nil)
	r, ok := out["repository"].(map[string]any)
	if !ok {
		t.Errorf("%s: repository is %s, want an object", cmd, mustJSON(out["repository"]))
		return repository{}
	}
	checkKeys(t, cmd+": repository", r, []string{
		"repositoryArn", "registryId", "repositoryName", "repositoryUri", "createdAt",
		"imageTagMutability", "imageScanningConfiguration", "encryptionConfiguration",
	}, nil)

	account, _ := r["registryId"].(string)
	if !regexp.MustCompile(`^[0-9]{12}$`).MatchString(account) {
		t.Errorf("%s: registryId %q, want 12 digits", cmd, r["registryId"])
	}
	for _, f := range []struct {
		key  string
		want any
	}{
		{"repositoryArn", fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", region, account, repoName)},
		{"repositoryName", repoName},
		{"repositoryUri", addr + "/" + repoName},
		{"imageTagMutability", "MUTABLE"},
		{"imageScanningConfiguration", map[string]any{"scanOnPush": true}},
		{"encryptionConfiguration", map[string]any{"encryptionType": "AES256"}},
	} {
		if got := r[f.key]; !jsonEqual(got, f.want) {
			t.Errorf("%s: %s is %s, want %s", cmd, f.key, mustJSON(got), mustJSON(f.want))
		}
	}
	createdAt := checkTime(t, cmd+": createdAt", r["createdAt"], notBefore, notAfter)
	return repository{RegistryID: account, CreatedAt: createdAt}
}

// checkImages checks describe-images: the one pushed image, tagged latest.
func checkImages(t reporter, out map[string]any, account, digest string, notBefore, notAfter time.Time) {
	t.Helper()
	checkKeys(t, "describe-images", out, []string{"imageDetails"}, nil)
	details, ok := out["imageDetails"].([]any)
	if !ok || len(details) != 1 {
		t.Errorf("describe-images: imageDetails is %s, want one image", mustJSON(out["imageDetails"]))
		return
	}
	d, ok := details[0].(map[string]any)
	if !ok {
		t.Errorf("describe-images: imageDetails[0] is %s, want an object", mustJSON(details[0]))
		return
	}
	// Required: what the walkthrough shows. Optional: the other ImageDetail
	// members ECR prints for an image that has them.
	checkKeys(t, "describe-images: imageDetails[0]", d,
		[]string{"registryId", "repositoryName", "imageDigest", "imageTags", "imageSizeInBytes", "imagePushedAt"},
		[]string{"imageManifestMediaType", "artifactMediaType", "lastRecordedPullTime", "imageScanStatus",
			"imageScanFindingsSummary", "imageStatus", "subjectManifestDigest", "lastArchivedAt",
			"lastActivatedAt", "imageArtifactMediaType"})
	for _, f := range []struct {
		key  string
		want any
	}{
		{"registryId", account},
		{"repositoryName", repoName},
		{"imageDigest", digest},
		{"imageTags", []any{"latest"}},
	} {
		if got := d[f.key]; !jsonEqual(got, f.want) {
			t.Errorf("describe-images: %s is %s, want %s", f.key, mustJSON(got), mustJSON(f.want))
		}
	}
	if n, ok := d["imageSizeInBytes"].(json.Number); !ok {
		t.Errorf("describe-images: imageSizeInBytes is %s, want a number", mustJSON(d["imageSizeInBytes"]))
	} else if v, err := n.Int64(); err != nil || v <= 0 {
		t.Errorf("describe-images: imageSizeInBytes is %s, want a positive integer", n)
	}
	checkTime(t, "describe-images: imagePushedAt", d["imagePushedAt"], notBefore, notAfter)
	if mt, ok := d["imageManifestMediaType"]; ok && mt != "application/vnd.docker.distribution.manifest.v2+json" && mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("describe-images: imageManifestMediaType %s, want an image manifest media type", mustJSON(mt))
	}
}

// checkKeys checks that obj has every required member and no member outside
// required and optional.
func checkKeys(t reporter, what string, obj map[string]any, required, optional []string) {
	t.Helper()
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s: member %s missing from %s", what, k, mustJSON(obj))
		}
	}
	for k := range obj {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			t.Errorf("%s: unexpected member %s (= %s); ECR does not print it here", what, k, mustJSON(obj[k]))
		}
	}
}

// checkTime checks a printed timestamp: a number of seconds since the epoch,
// as the AWS CLI v1 prints ECR's timestamps (v2 prints ISO 8601 by default),
// falling within [notBefore, notAfter] give or take clock rounding.
func checkTime(t reporter, what string, v any, notBefore, notAfter time.Time) json.Number {
	t.Helper()
	var at time.Time
	var num json.Number
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			t.Errorf("%s: %s is not a number: %v", what, v, err)
			return v
		}
		sec, frac := math.Modf(f)
		at, num = time.Unix(int64(sec), int64(frac*1e9)), v
	case string:
		p, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || !cliV2 {
			t.Errorf("%s: %q, want a number of seconds since the epoch", what, v)
			return ""
		}
		at, num = p, json.Number(fmt.Sprintf("%d.%09d", p.Unix(), p.Nanosecond()))
	default:
		t.Errorf("%s: %s, want a number of seconds since the epoch", what, mustJSON(v))
		return ""
	}
	if at.Before(notBefore.Add(-2*time.Second)) || at.After(notAfter.Add(2*time.Second)) {
		t.Errorf("%s: %s (%s), want a time between %s and %s", what, num, at.UTC().Format(time.RFC3339Nano),
			notBefore.UTC().Format(time.RFC3339Nano), notAfter.UTC().Format(time.RFC3339Nano))
	}
	return num
}

// checkCLIError checks a failed aws command: exit status 254 (CLI v2) or 255
// (CLI v1), nothing on stdout, and the exception and message on stderr.
func checkCLIError(t reporter, r result, exception, message string) {
	t.Helper()
	if r.Code != 254 && r.Code != 255 {
		t.Errorf("%s: exit status %d, want 254 or 255\nstdout: %s\nstderr: %s", r.Cmd, r.Code, r.Stdout, r.Stderr)
		return
	}
	if strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("%s: printed %q on stdout, want nothing", r.Cmd, r.Stdout)
	}
	if !strings.Contains(r.Stderr, "("+exception+")") {
		t.Errorf("%s: stderr %q does not name %s", r.Cmd, r.Stderr, exception)
	}
	if !strings.Contains(r.Stderr, message) {
		t.Errorf("%s: stderr %q does not hold the message %q", r.Cmd, r.Stderr, message)
	}
}

func jsonEqual(a, b any) bool { return mustJSON(a) == mustJSON(b) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// result is a finished command.
type result struct {
	Cmd            string
	Stdout, Stderr string
	Code           int // exit status; -1 when it did not run or was killed
}

// commandTimeout is a backstop against a hung client, not a speed assertion.
const commandTimeout = 5 * time.Minute

// execute runs a command with env (nil: the test's) and stdin and reports
// how it went; it fails the test only when the command cannot start.
func execute(t *testing.T, dir string, env []string, stdin string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{
		Cmd:    filepath.Base(name) + " " + strings.Join(args, " "),
		Stdout: stdout.String(),
		Stderr: stderr.String(),
		Code:   cmd.ProcessState.ExitCode(),
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("%s: %v", r.Cmd, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s: killed after %s\nstdout: %s\nstderr: %s", r.Cmd, commandTimeout, r.Stdout, r.Stderr)
	}
	t.Logf("$ %s\n%s%s", r.Cmd, r.Stdout, r.Stderr)
	return r
}

// succeed runs a command that must exit 0.
func succeed(t *testing.T, dir string, env []string, stdin string, name string, args ...string) result {
	t.Helper()
	r := execute(t, dir, env, stdin, name, args...)
	if r.Code != 0 {
		t.Fatalf("%s: exit status %d\nstdout: %s\nstderr: %s", r.Cmd, r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// cliV2 records whether the aws CLI is version 2; it changes how timestamps
// print and the exit status of a service error.
var cliV2 bool

// awsCLI runs the aws CLI against berth in a clean, hermetic environment:
// only the root access key, the region and empty config files.
type awsCLI struct {
	bin      string
	env      []string
	endpoint string
}

func newAWSCLI(t *testing.T, bin string, s *server) *awsCLI {
	t.Helper()
	home := t.TempDir()
	config := filepath.Join(home, "config")
	credentials := filepath.Join(home, "credentials")
	for _, f := range []string{config, credentials} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"HOME="+home,
		"AWS_ACCESS_KEY_ID="+s.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+s.SecretKey,
		"AWS_DEFAULT_REGION="+region,
		"AWS_CONFIG_FILE="+config,
		"AWS_SHARED_CREDENTIALS_FILE="+credentials,
		"AWS_PAGER=",
	)
	a := &awsCLI{bin: bin, env: env, endpoint: s.URL()}
	v := succeed(t, home, env, "", bin, "--version")
	cliV2 = strings.HasPrefix(strings.TrimSpace(v.Stdout+v.Stderr), "aws-cli/2")
	return a
}

// run runs an aws command with --endpoint-url added.
func (a *awsCLI) run(t *testing.T, args ...string) result {
	t.Helper()
	return execute(t, "", a.env, "", a.bin, append(args, "--endpoint-url", a.endpoint)...)
}

// must runs an aws command that must succeed.
func (a *awsCLI) must(t *testing.T, args ...string) result {
	t.Helper()
	r := a.run(t, args...)
	if r.Code != 0 {
		t.Fatalf("%s: exit status %d\nstdout: %s\nstderr: %s", r.Cmd, r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// json runs an aws command that must succeed and parses the JSON it prints,
// numbers kept as json.Number.
func (a *awsCLI) json(t *testing.T, args ...string) map[string]any {
	t.Helper()
	r := a.must(t, args...)
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s printed no JSON object: %v\n%s", r.Cmd, err, r.Stdout)
	}
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
