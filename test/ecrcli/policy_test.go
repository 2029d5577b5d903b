package ecrcli

import (
	"strings"
	"testing"

	"github.com/berth-registry/berth/test/internal/harness"
)

// TestPoliciesWithCLI drives repository and registry policies with the AWS
// CLI: validation on write, SetRepositoryPolicy's lockout check and --force,
// and enforcement of an explicit Deny on the root's own calls.
func TestPoliciesWithCLI(t *testing.T) {
	awsBin := harness.RequireTool(t, "aws")
	s := startServer(t)
	aws := newAWSCLI(t, awsBin, s)
	const repo = "policy-repo"
	aws.must(t, "ecr", "create-repository", "--repository-name", repo)

	fails := func(code, msg string, args ...string) {
		t.Helper()
		r := aws.run(t, args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, code) || !strings.Contains(r.Stderr, msg) {
			t.Fatalf("aws %s: exit %d, stderr %q; want %s containing %q", strings.Join(args, " "), r.Code, r.Stderr, code, msg)
		}
	}

	fails("RepositoryPolicyNotFoundException", "Repository policy does not exist for the repository with name 'policy-repo'",
		"ecr", "get-repository-policy", "--repository-name", repo)
	fails("InvalidParameterException", "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
		"ecr", "set-repository-policy", "--repository-name", repo, "--policy-text", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*"}]}`)

	pull := `{"Version":"2012-10-17","Statement":[{"Sid":"Pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/ci"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`
	set := aws.json(t, "ecr", "set-repository-policy", "--repository-name", repo, "--policy-text", pull)
	if set["repositoryName"] != repo || set["policyText"] != pull || set["registryId"] == nil {
		t.Fatalf("set-repository-policy printed %v", set)
	}
	got := aws.json(t, "ecr", "get-repository-policy", "--repository-name", repo)
	if got["policyText"] != pull || got["repositoryName"] != repo {
		t.Fatalf("get-repository-policy printed %v", got)
	}

	// A policy denying everyone SetRepositoryPolicy would lock the caller
	// out: refused without --force.
	lockout := `{"Version":"2012-10-17","Statement":[{"Sid":"Freeze","Effect":"Deny","Principal":"*","Action":["ecr:SetRepositoryPolicy","ecr:DescribeImages"]}]}`
	fails("InvalidParameterException", "would prevent the caller",
		"ecr", "set-repository-policy", "--repository-name", repo, "--policy-text", lockout)
	aws.must(t, "ecr", "set-repository-policy", "--repository-name", repo, "--policy-text", lockout, "--force")
	// Even the root is bound by an explicit Deny in a resource policy.
	fails("AccessDeniedException", "is not authorized to perform: ecr:DescribeImages on resource: arn:aws:ecr:",
		"ecr", "describe-images", "--repository-name", repo)
	fails("AccessDeniedException", "with an explicit deny in a resource-based policy",
		"ecr", "set-repository-policy", "--repository-name", repo, "--policy-text", pull, "--force")
	del := aws.json(t, "ecr", "delete-repository-policy", "--repository-name", repo)
	if del["policyText"] != lockout {
		t.Fatalf("delete-repository-policy printed %v", del)
	}
	aws.must(t, "ecr", "describe-images", "--repository-name", repo)

	// The registry policy.
	fails("RegistryPolicyNotFoundException", "Registry policy does not exist in the registry with id",
		"ecr", "get-registry-policy")
	fails("InvalidParameterException", "'Invalid registry policy provided'",
		"ecr", "put-registry-policy", "--policy-text", `{"Statement":`)
	deny := `{"Version":"2012-10-17","Statement":[{"Sid":"NoList","Effect":"Deny","Principal":"*","Action":"ecr:ListImages","Resource":"arn:aws:ecr:*:*:repository/*"}]}`
	put := aws.json(t, "ecr", "put-registry-policy", "--policy-text", deny)
	if put["policyText"] != deny || put["registryId"] == nil {
		t.Fatalf("put-registry-policy printed %v", put)
	}
	if reg := aws.json(t, "ecr", "get-registry-policy"); reg["policyText"] != deny {
		t.Fatalf("get-registry-policy printed %v", reg)
	}
	fails("AccessDeniedException", "ecr:ListImages on resource: arn:aws:ecr:",
		"ecr", "list-images", "--repository-name", repo)
	aws.must(t, "ecr", "delete-registry-policy")
	aws.must(t, "ecr", "list-images", "--repository-name", repo)
	fails("RegistryPolicyNotFoundException", "Registry policy does not exist", "ecr", "delete-registry-policy")
}
