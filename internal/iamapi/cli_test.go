package iamapi_test

// The AWS CLI against the real handler: `aws iam ... --endpoint-url` and
// `aws sts get-caller-identity`, asserting on the JSON the CLI prints.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type cli struct {
	t    *testing.T
	url  string
	home string
	env  []string
}

func newCLI(t *testing.T, e *env, keyID, secret string) *cli {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the AWS CLI is required in CI")
		}
		t.Skip("the AWS CLI is not installed")
	}
	home := t.TempDir()
	return &cli{t: t, url: e.URL, home: home, env: []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=" + keyID,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_DEFAULT_REGION=" + testRegion,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
	}}
}

// run runs aws with args and returns stdout, stderr and whether it succeeded.
func (c *cli) run(args ...string) (map[string]any, string, bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append(args, "--endpoint-url", c.url, "--output", "json")
	cmd := exec.CommandContext(ctx, "aws", args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		c.t.Fatalf("aws %v timed out", args)
	}
	var out map[string]any
	if s := strings.TrimSpace(stdout.String()); s != "" {
		if jerr := json.Unmarshal([]byte(s), &out); jerr != nil {
			c.t.Fatalf("aws %v printed non-JSON %q: %v", args, s, jerr)
		}
	}
	return out, stderr.String(), err == nil
}

func (c *cli) ok(args ...string) map[string]any {
	c.t.Helper()
	out, stderr, ok := c.run(args...)
	if !ok {
		c.t.Fatalf("aws %v failed: %s", args, stderr)
	}
	return out
}

func (c *cli) fails(wantInStderr string, args ...string) {
	c.t.Helper()
	_, stderr, ok := c.run(args...)
	if ok {
		c.t.Fatalf("aws %v succeeded, want failure with %q", args, wantInStderr)
	}
	if !strings.Contains(stderr, wantInStderr) {
		c.t.Fatalf("aws %v stderr %q does not contain %q", args, stderr, wantInStderr)
	}
}

// get walks a decoded JSON value by keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("the AWS CLI takes seconds per call")
	}
	e := newEnv(t)
	root := newCLI(t, e, rootKeyID, rootSecret)

	who := root.ok("sts", "get-caller-identity")
	if get(who, "Account") != testAccount || get(who, "Arn") != "arn:aws:iam::"+testAccount+":root" || get(who, "UserId") != testAccount {
		t.Fatalf("get-caller-identity = %v", who)
	}

	u := root.ok("iam", "create-user", "--user-name", "ci-user", "--path", "/ci/")
	if get(u, "User", "UserName") != "ci-user" || get(u, "User", "Path") != "/ci/" ||
		get(u, "User", "Arn") != "arn:aws:iam::"+testAccount+":user/ci/ci-user" ||
		!strings.HasPrefix(get(u, "User", "UserId").(string), "AIDA") {
		t.Fatalf("create-user = %v", u)
	}
	if got := root.ok("iam", "get-user", "--user-name", "ci-user"); get(got, "User", "UserId") != get(u, "User", "UserId") {
		t.Fatalf("get-user = %v", got)
	}
	if got := root.ok("iam", "list-users"); get(got, "Users", 0, "UserName") != "ci-user" || get(got, "Users", 1) != nil {
		t.Fatalf("list-users = %v", got)
	}
	root.fails("EntityAlreadyExists", "iam", "create-user", "--user-name", "ci-user")
	root.fails("NoSuchEntity", "iam", "get-user", "--user-name", "nobody")

	k := root.ok("iam", "create-access-key", "--user-name", "ci-user")
	keyID, _ := get(k, "AccessKey", "AccessKeyId").(string)
	secret, _ := get(k, "AccessKey", "SecretAccessKey").(string)
	if !strings.HasPrefix(keyID, "AKIA") || len(secret) != 40 || get(k, "AccessKey", "Status") != "Active" {
		t.Fatalf("create-access-key = %v", k)
	}
	if got := root.ok("iam", "list-access-keys", "--user-name", "ci-user"); get(got, "AccessKeyMetadata", 0, "AccessKeyId") != keyID ||
		get(got, "AccessKeyMetadata", 0, "SecretAccessKey") != nil {
		t.Fatalf("list-access-keys = %v", got)
	}

	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}]}`
	root.ok("iam", "put-user-policy", "--user-name", "ci-user", "--policy-name", "pull", "--policy-document", doc)
	// The CLI decodes the URL-encoded document and prints it as JSON.
	p := root.ok("iam", "get-user-policy", "--user-name", "ci-user", "--policy-name", "pull")
	if get(p, "PolicyDocument", "Statement", 0, "Action") != "ecr:BatchGetImage" || get(p, "PolicyName") != "pull" {
		t.Fatalf("get-user-policy = %v", p)
	}
	if got := root.ok("iam", "list-user-policies", "--user-name", "ci-user"); get(got, "PolicyNames", 0) != "pull" {
		t.Fatalf("list-user-policies = %v", got)
	}
	root.fails("MalformedPolicyDocument", "iam", "put-user-policy", "--user-name", "ci-user", "--policy-name", "bad", "--policy-document", `{"Statement":"nope"}`)

	ro := "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
	root.ok("iam", "attach-user-policy", "--user-name", "ci-user", "--policy-arn", ro)
	if got := root.ok("iam", "list-attached-user-policies", "--user-name", "ci-user"); get(got, "AttachedPolicies", 0, "PolicyArn") != ro ||
		get(got, "AttachedPolicies", 0, "PolicyName") != "AmazonEC2ContainerRegistryReadOnly" {
		t.Fatalf("list-attached-user-policies = %v", got)
	}

	g := root.ok("iam", "create-group", "--group-name", "ci-group")
	if get(g, "Group", "GroupName") != "ci-group" || !strings.HasPrefix(get(g, "Group", "GroupId").(string), "AGPA") {
		t.Fatalf("create-group = %v", g)
	}
	root.ok("iam", "add-user-to-group", "--group-name", "ci-group", "--user-name", "ci-user")
	root.ok("iam", "put-group-policy", "--group-name", "ci-group", "--policy-name", "gp", "--policy-document", doc)
	root.fails("DeleteConflict", "iam", "delete-user", "--user-name", "ci-user")

	// The user's own key: STS works, IAM is denied.
	user := newCLI(t, e, keyID, secret)
	if got := user.ok("sts", "get-caller-identity"); get(got, "Arn") != "arn:aws:iam::"+testAccount+":user/ci/ci-user" {
		t.Fatalf("get-caller-identity as user = %v", got)
	}
	user.fails("AccessDenied", "iam", "list-users")

	// Deactivation revokes the key at once.
	root.ok("iam", "update-access-key", "--user-name", "ci-user", "--access-key-id", keyID, "--status", "Inactive")
	if got := root.ok("iam", "list-access-keys", "--user-name", "ci-user"); get(got, "AccessKeyMetadata", 0, "Status") != "Inactive" {
		t.Fatalf("list-access-keys after deactivation = %v", got)
	}
	user.fails("InvalidClientTokenId", "sts", "get-caller-identity")

	// Tear down in IAM's order.
	root.ok("iam", "delete-access-key", "--user-name", "ci-user", "--access-key-id", keyID)
	root.ok("iam", "delete-user-policy", "--user-name", "ci-user", "--policy-name", "pull")
	root.ok("iam", "detach-user-policy", "--user-name", "ci-user", "--policy-arn", ro)
	root.ok("iam", "remove-user-from-group", "--group-name", "ci-group", "--user-name", "ci-user")
	root.fails("DeleteConflict", "iam", "delete-group", "--group-name", "ci-group")
	root.ok("iam", "delete-group-policy", "--group-name", "ci-group", "--policy-name", "gp")
	root.ok("iam", "delete-group", "--group-name", "ci-group")
	root.ok("iam", "delete-user", "--user-name", "ci-user")
	if got := root.ok("iam", "list-users"); len(get(got, "Users").([]any)) != 0 {
		t.Fatalf("list-users after teardown = %v", got)
	}
}
