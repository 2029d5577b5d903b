package ecrapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
)

// wantErrorCode asserts err is the ECR error code (empty: no error), and
// that its message contains msg.
func wantErrorCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	if !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("message %q does not contain %q", ae.ErrorMessage(), msg)
	}
	// The SDK must also decode it into its typed exception.
	var typed bool
	switch code {
	case "InvalidParameterException":
		_, typed = asAPIError[*types.InvalidParameterException](err)
	case "RepositoryNotFoundException":
		_, typed = asAPIError[*types.RepositoryNotFoundException](err)
	case "RepositoryAlreadyExistsException":
		_, typed = asAPIError[*types.RepositoryAlreadyExistsException](err)
	case "RepositoryNotEmptyException":
		_, typed = asAPIError[*types.RepositoryNotEmptyException](err)
	case "TooManyTagsException":
		_, typed = asAPIError[*types.TooManyTagsException](err)
	case "InvalidTagParameterException":
		_, typed = asAPIError[*types.InvalidTagParameterException](err)
	default:
		typed = true
	}
	if !typed {
		t.Fatalf("%T is not the SDK's typed %s", err, code)
	}
}

func makeTags(n int) []types.Tag {
	tags := make([]types.Tag, n)
	for i := range tags {
		tags[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String(fmt.Sprint(i))}
	}
	return tags
}

func TestCreateRepository(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	wildcard := []types.ImageTagMutabilityExclusionFilter{{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("dev-*")}}
	tests := []struct {
		name     string
		in       ecr.CreateRepositoryInput
		code     string
		msg      string
		check    func(t *testing.T, r *types.Repository)
		checkRaw func(t *testing.T, raw map[string]any)
	}{
		{name: "defaults", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")},
			check: func(t *testing.T, r *types.Repository) {
				if r.ImageTagMutability != types.ImageTagMutabilityMutable || r.ImageScanningConfiguration == nil ||
					r.ImageScanningConfiguration.ScanOnPush || r.EncryptionConfiguration == nil ||
					r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 || r.EncryptionConfiguration.KmsKey != nil ||
					r.ImageTagMutabilityExclusionFilters != nil {
					t.Fatalf("defaults: %+v", r)
				}
			}},
		{name: "immutable with scan on push", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("immutable"),
			ImageTagMutability:         types.ImageTagMutabilityImmutable,
			ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}},
			check: func(t *testing.T, r *types.Repository) {
				if r.ImageTagMutability != types.ImageTagMutabilityImmutable || !r.ImageScanningConfiguration.ScanOnPush {
					t.Fatalf("got %+v", r)
				}
			}},
		{name: "mutable with exclusion", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("mwe"),
			ImageTagMutability: types.ImageTagMutabilityMutableWithExclusion, ImageTagMutabilityExclusionFilters: wildcard},
			check: func(t *testing.T, r *types.Repository) {
				if r.ImageTagMutability != types.ImageTagMutabilityMutableWithExclusion || len(r.ImageTagMutabilityExclusionFilters) != 1 ||
					aws.ToString(r.ImageTagMutabilityExclusionFilters[0].Filter) != "dev-*" {
					t.Fatalf("got %+v", r)
				}
			}},
		{name: "immutable with exclusion", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("iwe"),
			ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion, ImageTagMutabilityExclusionFilters: wildcard}},
		{name: "exclusion mode without filters", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("nofilters"),
			ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion},
			code: "InvalidParameterException", msg: "ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as IMMUTABLE_WITH_EXCLUSION"},
		{name: "filters without exclusion mode", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("filters"),
			ImageTagMutability: types.ImageTagMutabilityMutable, ImageTagMutabilityExclusionFilters: wildcard},
			code: "InvalidParameterException", msg: "imageTagMutabilityExclusionFilters"},
		{name: "kms", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("kms"),
			EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String("arn:aws:kms:us-east-1:123456789012:key/k")}},
			check: func(t *testing.T, r *types.Repository) {
				if r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeKms || aws.ToString(r.EncryptionConfiguration.KmsKey) == "" {
					t.Fatalf("got %+v", r.EncryptionConfiguration)
				}
			}},
		{name: "aes256 with kms key", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("aeskms"),
			EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeAes256, KmsKey: aws.String("k")}},
			code: "InvalidParameterException", msg: "kmsKey"},
		{name: "tags", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("tagged"), Tags: makeTags(50)}},
		{name: "too many tags", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("toomany"), Tags: makeTags(51)},
			code: "TooManyTagsException"},
		{name: "reserved tag key", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("reserved"),
			Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}},
			code: "InvalidTagParameterException", msg: "aws:"},
		{name: "exists", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")},
			code: "RepositoryAlreadyExistsException", msg: "The repository with name 'team/app' already exists in the registry with id '123456789012'"},
		{name: "other registry", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("x1"), RegistryId: aws.String("000000000000")},
			code: "InvalidParameterException", msg: "registryId"},
		{name: "own registry id", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("own"), RegistryId: aws.String(testAccount)}},
		{name: "invalid name", in: ecr.CreateRepositoryInput{RepositoryName: aws.String("Upper/Case")},
			code: "InvalidParameterException", msg: "repositoryName"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			out, err := env.Client.CreateRepository(ctx, &tc.in)
			wantErrorCode(t, err, tc.code, tc.msg)
			if tc.code != "" {
				if tc.code == "RepositoryAlreadyExistsException" {
					return
				}
				if _, err := env.Core.GetRepository(ctx, *tc.in.RepositoryName); err == nil {
					t.Fatalf("repository %s was created despite the error", *tc.in.RepositoryName)
				}
				return
			}
			r := out.Repository
			name := *tc.in.RepositoryName
			if aws.ToString(r.RepositoryName) != name || aws.ToString(r.RegistryId) != testAccount ||
				aws.ToString(r.RepositoryArn) != "arn:aws:ecr:us-east-1:"+testAccount+":repository/"+name ||
				aws.ToString(r.RepositoryUri) != strings.TrimPrefix(env.URL, "http://")+"/"+name {
				t.Fatalf("identity fields: %+v", r)
			}
			if r.CreatedAt == nil || r.CreatedAt.Before(before) || r.CreatedAt.After(time.Now().Add(time.Second)) {
				t.Fatalf("createdAt = %v", r.CreatedAt)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			if len(tc.in.Tags) > 0 {
				lt, err := env.Client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
				if err != nil || len(lt.Tags) != len(tc.in.Tags) {
					t.Fatalf("tags: %v, %v", lt, err)
				}
			}
		})
	}
}

// TestRepositoryOutputShape checks the raw JSON: members ECR omits are
// absent, timestamps are epoch seconds.
func TestRepositoryOutputShape(t *testing.T) {
	env := newTestEnv(t)
	status, out := env.call(t, "CreateRepository", map[string]any{"repositoryName": "shape"})
	if status != 200 {
		t.Fatalf("status %d: %v", status, out)
	}
	repo := out["repository"].(map[string]any)
	want := []string{"createdAt", "encryptionConfiguration", "imageScanningConfiguration", "imageTagMutability",
		"registryId", "repositoryArn", "repositoryName", "repositoryUri"}
	var got []string
	for k := range repo {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
	if _, err := repo["createdAt"].(json.Number).Float64(); err != nil {
		t.Fatalf("createdAt %v is not a number", repo["createdAt"])
	}
	if enc := repo["encryptionConfiguration"].(map[string]any); len(enc) != 1 || enc["encryptionType"] != "AES256" {
		t.Fatalf("encryptionConfiguration %v", enc)
	}
	if scan := repo["imageScanningConfiguration"].(map[string]any); scan["scanOnPush"] != false {
		t.Fatalf("imageScanningConfiguration %v", scan)
	}

	status, out = env.call(t, "DescribeRepositories", map[string]any{})
	if status != 200 {
		t.Fatalf("status %d: %v", status, out)
	}
	if _, ok := out["nextToken"]; ok {
		t.Fatalf("nextToken present on the last page: %v", out)
	}
	status, out = env.call(t, "ListTagsForResource", map[string]any{"resourceArn": "arn:aws:ecr:us-east-1:" + testAccount + ":repository/shape"})
	if status != 200 || fmt.Sprint(out["tags"]) != "[]" {
		t.Fatalf("ListTagsForResource: %d %v, want empty tags list", status, out)
	}
	status, out = env.call(t, "DescribeRepositories", map[string]any{"repositoryNames": []string{"nope"}})
	if status != 400 || out["__type"] != "RepositoryNotFoundException" {
		t.Fatalf("status %d: %v", status, out)
	}
}

func createRepos(t *testing.T, env *testEnv, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := env.Client.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(n)}); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
}

func repoNames(rs []types.Repository) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = aws.ToString(r.RepositoryName)
	}
	return out
}

func TestDescribeRepositories(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	createRepos(t, env, "b-repo", "a-repo", "e-repo", "d-repo", "c-repo")
	all := []string{"a-repo", "b-repo", "c-repo", "d-repo", "e-repo"}

	tests := []struct {
		name string
		in   ecr.DescribeRepositoriesInput
		want []string
		next bool
		code string
		msg  string
	}{
		{name: "all", in: ecr.DescribeRepositoriesInput{}, want: all},
		{name: "by name, in request order", in: ecr.DescribeRepositoriesInput{RepositoryNames: []string{"d-repo", "a-repo"}}, want: []string{"d-repo", "a-repo"}},
		{name: "duplicates once", in: ecr.DescribeRepositoriesInput{RepositoryNames: []string{"a-repo", "a-repo"}}, want: []string{"a-repo"}},
		{name: "missing name", in: ecr.DescribeRepositoriesInput{RepositoryNames: []string{"a-repo", "zz-missing"}},
			code: "RepositoryNotFoundException", msg: "The repository with name 'zz-missing' does not exist in the registry with id '123456789012'"},
		{name: "first page", in: ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(2)}, want: all[:2], next: true},
		{name: "exact page", in: ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(5)}, want: all},
		{name: "names with maxResults", in: ecr.DescribeRepositoriesInput{RepositoryNames: []string{"a-repo"}, MaxResults: aws.Int32(1)},
			code: "InvalidParameterException"},
		{name: "bad token", in: ecr.DescribeRepositoriesInput{NextToken: aws.String("not-a-token")},
			code: "InvalidParameterException", msg: "nextToken"},
		{name: "other registry", in: ecr.DescribeRepositoriesInput{RegistryId: aws.String("111111111111")},
			code: "InvalidParameterException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := env.Client.DescribeRepositories(ctx, &tc.in)
			wantErrorCode(t, err, tc.code, tc.msg)
			if tc.code != "" {
				return
			}
			if got := repoNames(out.Repositories); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if (out.NextToken != nil) != tc.next {
				t.Fatalf("nextToken = %v, want present=%v", out.NextToken, tc.next)
			}
		})
	}

	t.Run("paginator", func(t *testing.T) {
		p := ecr.NewDescribeRepositoriesPaginator(env.Client, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(2)})
		var got []string
		pages := 0
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			got = append(got, repoNames(page.Repositories)...)
		}
		if !slices.Equal(got, all) || pages != 3 {
			t.Fatalf("got %v in %d pages", got, pages)
		}
	})

	t.Run("stable under concurrent writes", func(t *testing.T) {
		env := newTestEnv(t)
		createRepos(t, env, "r1", "r2", "r3", "r4")
		page, err := env.Client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		// Between pages: one repository appears before the boundary, the
		// boundary repository itself is deleted, one appears after it.
		createRepos(t, env, "r0", "r5")
		if _, err := env.Client.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("r2")}); err != nil {
			t.Fatal(err)
		}
		rest, err := env.Client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(10), NextToken: page.NextToken})
		if err != nil {
			t.Fatal(err)
		}
		if got := append(repoNames(page.Repositories), repoNames(rest.Repositories)...); !slices.Equal(got, []string{"r1", "r2", "r3", "r4", "r5"}) {
			t.Fatalf("got %v: a page boundary moved", got)
		}
	})
}

func TestDeleteRepository(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	createRepos(t, env, "empty", "full", "forced")
	env.pushImage(t, "full", "v1", "a")
	env.pushImage(t, "forced", "v1", "b")

	tests := []struct {
		name  string
		repo  string
		force bool
		code  string
		msg   string
	}{
		{"empty", "empty", false, "", ""},
		{"missing", "empty", false, "RepositoryNotFoundException", "The repository with name 'empty' does not exist in the registry with id '123456789012'"},
		{"not empty", "full", false, "RepositoryNotEmptyException", "The repository with name 'full' in registry with id '123456789012' cannot be deleted because it still contains images"},
		{"force", "forced", true, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := env.Client.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(tc.repo), Force: tc.force})
			wantErrorCode(t, err, tc.code, tc.msg)
			if tc.code != "" {
				return
			}
			if aws.ToString(out.Repository.RepositoryName) != tc.repo || out.Repository.CreatedAt == nil ||
				aws.ToString(out.Repository.RepositoryArn) != "arn:aws:ecr:us-east-1:"+testAccount+":repository/"+tc.repo {
				t.Fatalf("output %+v", out.Repository)
			}
			_, err = env.Client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{tc.repo}})
			wantErrorCode(t, err, "RepositoryNotFoundException", tc.repo)
		})
	}
	// The refused repository is intact.
	if _, err := env.Core.GetRepository(ctx, "full"); err != nil {
		t.Fatal(err)
	}
}

func TestPutImageTagMutability(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	createRepos(t, env, "app")
	filters := []types.ImageTagMutabilityExclusionFilter{{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("latest")}}
	tests := []struct {
		name    string
		repo    string
		mode    types.ImageTagMutability
		filters []types.ImageTagMutabilityExclusionFilter
		code    string
		msg     string
	}{
		{name: "immutable", repo: "app", mode: types.ImageTagMutabilityImmutable},
		{name: "immutable with exclusion", repo: "app", mode: types.ImageTagMutabilityImmutableWithExclusion, filters: filters},
		{name: "exclusion without filters", repo: "app", mode: types.ImageTagMutabilityMutableWithExclusion,
			code: "InvalidParameterException", msg: "can't be null when imageTagMutability is set as MUTABLE_WITH_EXCLUSION"},
		{name: "filters without exclusion", repo: "app", mode: types.ImageTagMutabilityImmutable, filters: filters,
			code: "InvalidParameterException"},
		{name: "missing repository", repo: "nope", mode: types.ImageTagMutabilityImmutable,
			code: "RepositoryNotFoundException", msg: "'nope'"},
		{name: "back to mutable clears filters", repo: "app", mode: types.ImageTagMutabilityMutable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := env.Client.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{
				RepositoryName: aws.String(tc.repo), ImageTagMutability: tc.mode, ImageTagMutabilityExclusionFilters: tc.filters})
			wantErrorCode(t, err, tc.code, tc.msg)
			if tc.code != "" {
				return
			}
			if aws.ToString(out.RegistryId) != testAccount || aws.ToString(out.RepositoryName) != tc.repo ||
				out.ImageTagMutability != tc.mode || len(out.ImageTagMutabilityExclusionFilters) != len(tc.filters) {
				t.Fatalf("output %+v", out)
			}
			d, err := env.Client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{tc.repo}})
			if err != nil {
				t.Fatal(err)
			}
			if r := d.Repositories[0]; r.ImageTagMutability != tc.mode || len(r.ImageTagMutabilityExclusionFilters) != len(tc.filters) {
				t.Fatalf("described %+v", r)
			}
		})
	}

	// The setting is enforced by the core.
	if _, err := env.Client.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{
		RepositoryName: aws.String("app"), ImageTagMutability: types.ImageTagMutabilityImmutable}); err != nil {
		t.Fatal(err)
	}
	env.pushImage(t, "app", "v1", "one")
	repo, err := env.Core.GetRepository(ctx, "app")
	if err != nil || !repo.TagIsImmutable("v1") {
		t.Fatalf("core does not see the tag as immutable: %v", err)
	}
}

func TestPutImageScanningConfiguration(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	createRepos(t, env, "app")
	tests := []struct {
		name string
		repo string
		scan bool
		code string
	}{
		{"enable", "app", true, ""},
		{"disable", "app", false, ""},
		{"missing repository", "nope", true, "RepositoryNotFoundException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := env.Client.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{
				RepositoryName: aws.String(tc.repo), ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: tc.scan}})
			wantErrorCode(t, err, tc.code, "")
			if tc.code != "" {
				return
			}
			if aws.ToString(out.RegistryId) != testAccount || aws.ToString(out.RepositoryName) != tc.repo ||
				out.ImageScanningConfiguration == nil || out.ImageScanningConfiguration.ScanOnPush != tc.scan {
				t.Fatalf("output %+v", out)
			}
			repo, err := env.Core.GetRepository(ctx, tc.repo)
			if err != nil || repo.ScanOnPush != tc.scan {
				t.Fatalf("stored scanOnPush = %v (%v)", repo.ScanOnPush, err)
			}
		})
	}
}

func TestResourceTags(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	createRepos(t, env, "app")
	arn := "arn:aws:ecr:us-east-1:" + testAccount + ":repository/app"
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

	type step struct {
		name  string
		op    string // tag, untag
		arn   string
		tags  []types.Tag
		keys  []string
		code  string
		msg   string
		after map[string]string // tags expected afterwards
	}
	steps := []step{
		{name: "tag", op: "tag", arn: arn, tags: []types.Tag{tag("team", "a"), tag("env", "dev")},
			after: map[string]string{"team": "a", "env": "dev"}},
		{name: "overwrite and add", op: "tag", arn: arn, tags: []types.Tag{tag("env", "prod"), tag("cost", "")},
			after: map[string]string{"team": "a", "env": "prod", "cost": ""}},
		{name: "untag", op: "untag", arn: arn, keys: []string{"team", "absent"},
			after: map[string]string{"env": "prod", "cost": ""}},
		{name: "up to the limit", op: "tag", arn: arn, tags: makeTags(48), after: nil},
		{name: "over the limit", op: "tag", arn: arn, tags: []types.Tag{tag("one-more", "x")}, code: "TooManyTagsException"},
		{name: "replacing at the limit is fine", op: "tag", arn: arn, tags: []types.Tag{tag("env", "stage")}},
		{name: "reserved prefix", op: "tag", arn: arn, tags: []types.Tag{tag("AWS:x", "y")}, code: "InvalidTagParameterException"},
		{name: "reserved prefix untag", op: "untag", arn: arn, keys: []string{"aws:x"}, code: "InvalidTagParameterException"},
		{name: "bad arn", op: "tag", arn: "not-an-arn", tags: []types.Tag{tag("a", "b")},
			code: "InvalidParameterException", msg: "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'"},
		{name: "not a repository arn", op: "untag", arn: "arn:aws:s3:::bucket", keys: []string{"a"}, code: "InvalidParameterException"},
		{name: "missing repository", op: "tag", arn: "arn:aws:ecr:us-east-1:" + testAccount + ":repository/nope", tags: []types.Tag{tag("a", "b")},
			code: "RepositoryNotFoundException", msg: "'nope'"},
		{name: "other account", op: "tag", arn: "arn:aws:ecr:us-east-1:999999999999:repository/app", tags: []types.Tag{tag("a", "b")},
			code: "RepositoryNotFoundException", msg: "999999999999"},
	}
	for _, st := range steps {
		var err error
		switch st.op {
		case "tag":
			_, err = env.Client.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(st.arn), Tags: st.tags})
		case "untag":
			_, err = env.Client.UntagResource(ctx, &ecr.UntagResourceInput{ResourceArn: aws.String(st.arn), TagKeys: st.keys})
		}
		t.Run(st.name, func(t *testing.T) { wantErrorCode(t, err, st.code, st.msg) })
		if st.after == nil {
			continue
		}
		out, err := env.Client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, tg := range out.Tags {
			got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if fmt.Sprint(got) != fmt.Sprint(st.after) {
			t.Fatalf("%s: tags %v, want %v", st.name, got, st.after)
		}
	}
	out, err := env.Client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(out.Tags) != maxResourceTags {
		t.Fatalf("%d tags (%v), want %d", len(out.Tags), err, maxResourceTags)
	}
	_, err = env.Client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:us-east-1:1234:repository/app")})
	wantErrorCode(t, err, "InvalidParameterException", "Invalid ARN")
	_, err = env.Client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:us-east-1:" + testAccount + ":repository/gone")})
	wantErrorCode(t, err, "RepositoryNotFoundException", "gone")
}
