package scaleout

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/berth-registry/berth/test/internal/harness"
)

// TestOCIConformanceOnS3AndPostgres runs the OCI distribution-spec
// conformance suite against a node on S3 + PostgreSQL, with a second node
// of the same cluster running beside it, and requires every check to pass
// with none skipped. The same suite runs against the embedded default in
// test/e2e.
func TestOCIConformanceOnS3AndPostgres(t *testing.T) {
	bin := harness.RequireTool(t, "conformance")
	c := newCluster(t, 2)
	// Cross-repository mounts are an ECR account setting (off by default).
	// Set, and logged in, on the other node: the cluster shares both.
	if _, err := c.ecrClient(c.nodes[1]).PutAccountSetting(context.Background(), &ecr.PutAccountSettingInput{
		Name: aws.String("BLOB_MOUNTING"), Value: aws.String("ENABLED"),
	}); err != nil {
		t.Fatalf("PutAccountSetting BLOB_MOUNTING=ENABLED: %v", err)
	}
	harness.RunConformance(t, harness.Conformance{
		Bin:      bin,
		Registry: c.nodes[0].Addr(),
		Username: harness.LoginUser,
		Password: c.loginToken(t, c.nodes[1]),
	})
}
