package ecrcli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a reporter that keeps what the checks report.
type recorder struct{ msgs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

// verdict checks that a check reported nothing (want == "") or reported a
// message containing want.
func verdict(t *testing.T, rec *recorder, want string) {
	t.Helper()
	if want == "" {
		if len(rec.msgs) != 0 {
			t.Errorf("reported %q, want nothing", rec.msgs)
		}
		return
	}
	for _, m := range rec.msgs {
		if strings.Contains(m, want) {
			return
		}
	}
	t.Errorf("reported %q, want a message containing %q", rec.msgs, want)
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

// The output of aws ecr create-repository as the walkthrough shows it, for
// a berth at 127.0.0.1:5000.
const goodRepository = `{"repository": {
	"repositoryArn": "arn:aws:ecr:us-east-1:123456789012:repository/my-nginx-repo",
	"registryId": "123456789012",
	"repositoryName": "my-nginx-repo",
	"repositoryUri": "127.0.0.1:5000/my-nginx-repo",
	"createdAt": 1700000000.5,
	"imageTagMutability": "MUTABLE",
	"imageScanningConfiguration": {"scanOnPush": true},
	"encryptionConfiguration": {"encryptionType": "AES256"}}}`

func TestCheckRepository(t *testing.T) {
	notBefore := time.Unix(1700000000, 0)
	for _, tt := range []struct {
		name     string
		old, new string // replace old with new in goodRepository
		want     string // "" for no report
	}{
		{"as in the walkthrough", "", "", ""},
		{"missing createdAt", `"createdAt": 1700000000.5,`, "", "member createdAt missing"},
		{"extra member", `"imageTagMutability": "MUTABLE",`, `"imageTagMutability": "MUTABLE", "imageTagMutabilityExclusionFilters": [],`, "unexpected member imageTagMutabilityExclusionFilters"},
		{"extra top-level member", `{"repository": {`, `{"failures": [], "repository": {`, "unexpected member failures"},
		{"ARN in another region", "arn:aws:ecr:us-east-1", "arn:aws:ecr:eu-west-1", "repositoryArn"},
		{"ARN of another repository", "repository/my-nginx-repo", "repository/other", "repositoryArn"},
		{"registryId not 12 digits", `"registryId": "123456789012"`, `"registryId": "12345678901"`, "want 12 digits"},
		{"registryId not a string", `"registryId": "123456789012"`, `"registryId": 123456789012`, "want 12 digits"},
		{"repositoryUri on ECR's host", "127.0.0.1:5000/", "123456789012.dkr.ecr.us-east-1.amazonaws.com/", "repositoryUri"},
		{"repositoryName", `"repositoryName": "my-nginx-repo"`, `"repositoryName": "My-Nginx-Repo"`, "repositoryName"},
		{"createdAt a string", "1700000000.5", `"2023-11-14T22:13:20.5Z"`, "want a number"},
		{"createdAt in milliseconds", "1700000000.5", "1700000000500", "want a time between"},
		{"createdAt too early", "1700000000.5", "1699999990", "want a time between"},
		{"immutable", `"MUTABLE"`, `"IMMUTABLE"`, "imageTagMutability"},
		{"scanOnPush false", `"scanOnPush": true`, `"scanOnPush": false`, "imageScanningConfiguration"},
		{"scanOnPush missing", `{"scanOnPush": true}`, `{}`, "imageScanningConfiguration"},
		{"KMS encryption", `{"encryptionType": "AES256"}`, `{"encryptionType": "KMS", "kmsKey": "k"}`, "encryptionConfiguration"},
		{"kmsKey with AES256", `{"encryptionType": "AES256"}`, `{"encryptionType": "AES256", "kmsKey": ""}`, "encryptionConfiguration"},
		{"repository not an object", goodRepository, `{"repository": []}`, "want an object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := goodRepository
			if tt.old != "" {
				if !strings.Contains(in, tt.old) {
					t.Fatalf("%q not in the test JSON", tt.old)
				}
				in = strings.Replace(in, tt.old, tt.new, 1)
			}
			rec := &recorder{}
			got := checkRepository(rec, "create-repository", decodeJSON(t, in), "127.0.0.1:5000", notBefore, notBefore.Add(time.Second))
			verdict(t, rec, tt.want)
			if tt.want == "" && (got.RegistryID != "123456789012" || got.CreatedAt != "1700000000.5") {
				t.Errorf("checkRepository returned %+v", got)
			}
		})
	}
}

const (
	goodDigest = "sha256:68a2d0685eb5855db0d4468c3fd123cee8e0b3d7fd55c6bb0cc18cb1730eb64b"
	goodImages = `{"imageDetails": [{
	"registryId": "123456789012",
	"repositoryName": "my-nginx-repo",
	"imageDigest": "` + goodDigest + `",
	"imageTags": ["latest"],
	"imageSizeInBytes": 721866,
	"imagePushedAt": 1700000000.25,
	"imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json",
	"artifactMediaType": "application/vnd.docker.container.image.v1+json",
	"imageStatus": "ACTIVE"}]}`
)

func TestCheckImages(t *testing.T) {
	notBefore := time.Unix(1700000000, 0)
	for _, tt := range []struct {
		name     string
		old, new string
		want     string
	}{
		{"as berth prints it", "", "", ""},
		{"as in the walkthrough", `"imageManifestMediaType"`, `"imageScanStatus": {"status": "COMPLETE"}, "imageManifestMediaType"`, ""},
		{"another digest", goodDigest, "sha256:" + strings.Repeat("0", 64), "imageDigest"},
		{"two tags", `["latest"]`, `["latest", "v1"]`, "imageTags"},
		{"untagged", `"imageTags": ["latest"],`, "", "member imageTags missing"},
		{"another account", `"registryId": "123456789012"`, `"registryId": "210987654321"`, "registryId"},
		{"size zero", "721866", "0", "want a positive integer"},
		{"size a string", "721866", `"721866"`, "want a number"},
		{"pushedAt missing", `"imagePushedAt": 1700000000.25,`, "", "member imagePushedAt missing"},
		{"pushedAt later", "1700000000.25", "1700000100", "want a time between"},
		{"an index", "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.index.v1+json", "imageManifestMediaType"},
		{"unknown member", `"imageStatus"`, `"layers": [], "imageStatus"`, "unexpected member layers"},
		{"nextToken", `{"imageDetails"`, `{"nextToken": "x", "imageDetails"`, "unexpected member nextToken"},
		{"no images", goodImages, `{"imageDetails": []}`, "want one image"},
		{"two images", `"imageStatus": "ACTIVE"}]`, `"imageStatus": "ACTIVE"}, {}]`, "want one image"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := goodImages
			if tt.old != "" {
				if !strings.Contains(in, tt.old) {
					t.Fatalf("%q not in the test JSON", tt.old)
				}
				in = strings.Replace(in, tt.old, tt.new, 1)
			}
			rec := &recorder{}
			checkImages(rec, decodeJSON(t, in), "123456789012", goodDigest, notBefore, notBefore.Add(time.Second))
			verdict(t, rec, tt.want)
		})
	}
}

func TestCheckCLIError(t *testing.T) {
	const (
		msg    = "The repository with name 'nope' does not exist in the registry with id '123456789012'"
		stderr = "\nAn error occurred (RepositoryNotFoundException) when calling the DescribeRepositories operation: " + msg + "\n"
	)
	for _, tt := range []struct {
		name string
		r    result
		want string
	}{
		{"CLI v1", result{Code: 255, Stderr: stderr}, ""},
		{"CLI v2", result{Code: 254, Stderr: stderr}, ""},
		{"succeeded", result{Code: 0, Stdout: `{"repositories": []}`}, "want 254 or 255"},
		{"usage error", result{Code: 252, Stderr: stderr}, "want 254 or 255"},
		{"printed JSON", result{Code: 255, Stdout: "{}", Stderr: stderr}, "want nothing"},
		{"another exception", result{Code: 255, Stderr: strings.Replace(stderr, "RepositoryNotFoundException", "ServerException", 1)}, "does not name RepositoryNotFoundException"},
		{"another account", result{Code: 255, Stderr: strings.Replace(stderr, "123456789012", "000000000000", 1)}, "does not hold the message"},
		{"no message", result{Code: 255, Stderr: "\nAn error occurred (RepositoryNotFoundException) when calling the DescribeRepositories operation: \n"}, "does not hold the message"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.Cmd = "aws ecr describe-repositories --repository-names nope"
			rec := &recorder{}
			checkCLIError(rec, tt.r, "RepositoryNotFoundException", msg)
			verdict(t, rec, tt.want)
		})
	}
}
