package ecrapi

import (
	"context"
	"strings"
	"testing"

	"github.com/berth-registry/berth/internal/registry"
)

// TestInvalidParameterPaths drives, over the wire, the InvalidParameterException
// paths of operations whose other tests do not reach them: malformed page
// tokens, parameters that exclude each other, and the model's list and range
// constraints the handlers rely on the validator for.
func TestInvalidParameterPaths(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.Core.CreateRepository(context.Background(), "team/app", registry.RepositorySettings{}); err != nil {
		t.Fatal(err)
	}
	const badToken = "not a token!"
	const invalidToken = "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'"
	const noIDImageID = "Invalid parameter at 'imageId' failed to satisfy constraint: 'Invalid request parameters: both tag and digest cannot be null'"
	subject := "sha256:" + strings.Repeat("a", 64)
	names26 := make([]string, 26)
	for i := range names26 {
		names26[i] = "repo"
	}
	cases := []struct {
		name, op string
		body     map[string]any
		want     string
	}{
		{"ListImages token", "ListImages",
			map[string]any{"repositoryName": "team/app", "nextToken": badToken}, invalidToken},
		{"ListImageReferrers token", "ListImageReferrers",
			map[string]any{"repositoryName": "team/app", "subjectId": map[string]any{"imageDigest": subject}, "nextToken": badToken}, invalidToken},
		{"DescribeImageScanFindings token", "DescribeImageScanFindings",
			map[string]any{"repositoryName": "team/app", "imageId": map[string]any{"imageTag": "v1"}, "nextToken": badToken}, invalidToken},
		{"DescribeRepositoryCreationTemplates token", "DescribeRepositoryCreationTemplates",
			map[string]any{"nextToken": badToken}, invalidToken},
		{"ListPullTimeUpdateExclusions token", "ListPullTimeUpdateExclusions",
			map[string]any{"nextToken": badToken}, invalidToken},
		{"DescribeImages ids and token", "DescribeImages",
			map[string]any{"repositoryName": "team/app", "imageIds": []any{map[string]any{"imageTag": "v1"}}, "nextToken": "x"},
			"Invalid parameter at 'nextToken' failed to satisfy constraint: 'nextToken cannot be specified together with imageIds'"},
		{"GetLifecyclePolicyPreview ids and token", "GetLifecyclePolicyPreview",
			map[string]any{"repositoryName": "team/app", "imageIds": []any{map[string]any{"imageTag": "v1"}}, "nextToken": "x"},
			"Invalid parameter at 'imageIds' failed to satisfy constraint: 'imageIds cannot be specified together with nextToken or maxResults'"},
		{"DescribeRepositoryCreationTemplates prefixes and token", "DescribeRepositoryCreationTemplates",
			map[string]any{"prefixes": []string{"team"}, "nextToken": "x"},
			"Invalid parameter at 'nextToken' failed to satisfy constraint: 'nextToken cannot be specified together with prefixes'"},
		{"StartImageScan empty imageId", "StartImageScan",
			map[string]any{"repositoryName": "team/app", "imageId": map[string]any{}}, noIDImageID},
		{"DescribeImageScanFindings empty imageId", "DescribeImageScanFindings",
			map[string]any{"repositoryName": "team/app", "imageId": map[string]any{}}, noIDImageID},
		{"UpdateImageStorageClass empty imageId", "UpdateImageStorageClass",
			map[string]any{"repositoryName": "team/app", "imageId": map[string]any{}, "targetStorageClass": "ARCHIVE"}, noIDImageID},
		{"DescribeImages empty imageId", "DescribeImages",
			map[string]any{"repositoryName": "team/app", "imageIds": []any{map[string]any{}}},
			"Invalid parameter at 'imageIds' failed to satisfy constraint: 'Invalid request parameters: both tag and digest cannot be null'"},
		{"DescribeImageScanFindings maxResults", "DescribeImageScanFindings",
			map[string]any{"repositoryName": "team/app", "imageId": map[string]any{"imageTag": "v1"}, "maxResults": 1001},
			"Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'"},
		{"BatchGetRepositoryScanningConfiguration none", "BatchGetRepositoryScanningConfiguration",
			map[string]any{"repositoryNames": []string{}},
			"Invalid parameter at 'repositoryNames' failed to satisfy constraint: 'Member must have length greater than or equal to 1'"},
		{"BatchGetRepositoryScanningConfiguration too many", "BatchGetRepositoryScanningConfiguration",
			map[string]any{"repositoryNames": names26},
			"Invalid parameter at 'repositoryNames' failed to satisfy constraint: 'Member must have length less than or equal to 25'"},
		{"CompleteLayerUpload no digests", "CompleteLayerUpload",
			map[string]any{"repositoryName": "team/app", "uploadId": "00000000-0000-0000-0000-000000000000", "layerDigests": []string{}},
			"Invalid parameter at 'layerDigests' failed to satisfy constraint: 'Member must have length greater than or equal to 1'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := env.call(t, c.op, c.body)
			if status != 400 || out["__type"] != CodeInvalidParameter || out["message"] != c.want {
				t.Errorf("%s = %d %v %q, want 400 %s %q", c.op, status, out["__type"], out["message"], CodeInvalidParameter, c.want)
			}
		})
	}
}
