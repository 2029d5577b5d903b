package ecrapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/lifecycle"
)

// testClock is a settable clock safe to read from background previews.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func lcText(rules ...string) string {
	text := `{"rules":[` + strings.Join(rules, ",") + `]}`
	if n := lifecycle.MinTextLength - len(text); n > 0 {
		text += strings.Repeat(" ", n)
	}
	return text
}

func lcRuleJSON(priority int, selection, action string) string {
	return fmt.Sprintf(`{"rulePriority":%d,"selection":{%s},"action":%s}`, priority, selection, action)
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

func TestLifecyclePolicyOps(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, withCreateOnPush())
	env.pushImage(t, "team/app", "v1", "a")
	repo := aws.String("team/app")

	_, err := env.Client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
	wantCode(t, err, "LifecyclePolicyNotFoundException")
	_, err = env.Client.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: repo})
	wantCode(t, err, "LifecyclePolicyNotFoundException")
	_, err = env.Client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("team/none")})
	wantCode(t, err, "RepositoryNotFoundException")

	invalid := []struct {
		name, text, code string
	}{
		{"short", `{"rules":[]}`, "InvalidParameterException"}, // the request model's length check
		{"no rules", lcText(), "InvalidParameterException"},
		{"bad count type", lcText(lcRuleJSON(1, `"tagStatus":"any","countType":"imageCountLessThan","countNumber":1`, `{"type":"expire"}`)), "InvalidParameterException"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.Client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(tt.text)})
			wantCode(t, err, tt.code)
		})
	}

	text := lcText(lcRuleJSON(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5`, `{"type":"expire"}`))
	put, err := env.Client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(text)})
	if err != nil || aws.ToString(put.LifecyclePolicyText) != text || aws.ToString(put.RegistryId) != testAccount || aws.ToString(put.RepositoryName) != "team/app" {
		t.Fatalf("PutLifecyclePolicy = %+v, %v", put, err)
	}
	got, err := env.Client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
	if err != nil || aws.ToString(got.LifecyclePolicyText) != text || got.LastEvaluatedAt != nil {
		t.Fatalf("GetLifecyclePolicy = %+v, %v", got, err)
	}
	if _, err := env.Core.RunLifecycle(ctx, "team/app"); err != nil {
		t.Fatal(err)
	}
	got, err = env.Client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
	if err != nil || got.LastEvaluatedAt == nil {
		t.Fatalf("lastEvaluatedAt after a run = %+v, %v", got, err)
	}
	del, err := env.Client.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: repo})
	if err != nil || aws.ToString(del.LifecyclePolicyText) != text || del.LastEvaluatedAt == nil {
		t.Fatalf("DeleteLifecyclePolicy = %+v, %v", del, err)
	}
	_, err = env.Client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
	wantCode(t, err, "LifecyclePolicyNotFoundException")
}

// TestLifecyclePreviewAndRun pushes images at controlled times, previews
// the policy through the SDK (with its waiter), runs it and checks exactly
// which images remain.
func TestLifecyclePreviewAndRun(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, withCreateOnPush())
	clock := &testClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	env.Now = clock.now
	start := clock.now()
	var pushed []digest.Digest
	for i, tag := range []string{"v1", "v2", "v3", "v4", ""} {
		clock.set(start.Add(time.Duration(i) * 24 * time.Hour))
		pushed = append(pushed, env.pushImage(t, "team/app", tag, fmt.Sprint(i)))
	}
	clock.set(start.Add(30 * 24 * time.Hour))
	repo := aws.String("team/app")

	_, err := env.Client.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo})
	wantCode(t, err, "LifecyclePolicyPreviewNotFoundException")
	_, err = env.Client.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: repo})
	wantCode(t, err, "LifecyclePolicyNotFoundException")

	text := lcText(
		lcRuleJSON(1, `"tagStatus":"tagged","tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":2`, `{"type":"expire"}`),
		lcRuleJSON(2, `"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7`, `{"type":"expire"}`))
	if _, err := env.Client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(text)}); err != nil {
		t.Fatal(err)
	}
	started, err := env.Client.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: repo})
	if err != nil || started.Status != types.LifecyclePolicyPreviewStatusInProgress || aws.ToString(started.LifecyclePolicyText) != text {
		t.Fatalf("StartLifecyclePolicyPreview = %+v, %v", started, err)
	}
	waiter := ecr.NewLifecyclePolicyPreviewCompleteWaiter(env.Client, func(o *ecr.LifecyclePolicyPreviewCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	out, err := waiter.WaitForOutput(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo}, time.Minute)
	if err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if out.Status != types.LifecyclePolicyPreviewStatusComplete || out.Summary == nil || aws.ToInt32(out.Summary.ExpiringImageTotalCount) != 3 {
		t.Fatalf("preview = %+v", out)
	}
	want := map[string]int32{pushed[0].String(): 1, pushed[1].String(): 1, pushed[4].String(): 2}
	got := map[string]int32{}
	for _, r := range out.PreviewResults {
		got[aws.ToString(r.ImageDigest)] = aws.ToInt32(r.AppliedRulePriority)
		if r.Action == nil || r.Action.Type != types.ImageActionTypeExpire || r.ImagePushedAt == nil {
			t.Errorf("result %+v", r)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("preview results %v, want %v", got, want)
	}

	// Pagination and the tagStatus filter.
	var paged []string
	var token *string
	for range 5 {
		page, err := env.Client.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo, MaxResults: aws.Int32(1), NextToken: token})
		if err != nil || len(page.PreviewResults) != 1 {
			t.Fatalf("page = %+v, %v", page, err)
		}
		paged = append(paged, aws.ToString(page.PreviewResults[0].ImageDigest))
		if token = page.NextToken; token == nil {
			break
		}
	}
	if len(paged) != 3 || len(slices.Compact(slices.Sorted(slices.Values(paged)))) != 3 {
		t.Fatalf("paged results %v", paged)
	}
	untagged, err := env.Client.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo,
		Filter: &types.LifecyclePolicyPreviewFilter{TagStatus: types.TagStatusUntagged}})
	if err != nil || len(untagged.PreviewResults) != 1 || aws.ToString(untagged.PreviewResults[0].ImageDigest) != pushed[4].String() {
		t.Fatalf("untagged results = %+v, %v", untagged, err)
	}

	// Run the policy: exactly v3 and v4 remain.
	if _, err := env.Core.RunLifecycle(ctx, "team/app"); err != nil {
		t.Fatal(err)
	}
	desc, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo})
	if err != nil {
		t.Fatal(err)
	}
	var remaining []string
	for _, d := range desc.ImageDetails {
		remaining = append(remaining, aws.ToString(d.ImageDigest))
	}
	if slices.Sort(remaining); !slices.Equal(remaining, slices.Sorted(slices.Values([]string{pushed[2].String(), pushed[3].String()}))) {
		t.Fatalf("remaining %v, want v3 and v4", remaining)
	}
}

func TestUpdateImageStorageClassOps(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, withCreateOnPush())
	d := env.pushImage(t, "team/app", "v1", "a")
	env.pushImage(t, "team/app", "v2", "b")
	repo := aws.String("team/app")

	_, err := env.Client.UpdateImageStorageClass(ctx, &ecr.UpdateImageStorageClassInput{RepositoryName: repo,
		ImageId: &types.ImageIdentifier{ImageTag: aws.String("nope")}, TargetStorageClass: types.TargetStorageClassArchive})
	wantCode(t, err, "ImageNotFoundException")

	up, err := env.Client.UpdateImageStorageClass(ctx, &ecr.UpdateImageStorageClassInput{RepositoryName: repo,
		ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}, TargetStorageClass: types.TargetStorageClassArchive})
	if err != nil || up.ImageStatus != types.ImageStatusArchived || aws.ToString(up.ImageId.ImageDigest) != d.String() {
		t.Fatalf("archive = %+v, %v", up, err)
	}
	// Listed as ARCHIVED, with lastArchivedAt; the filter finds it.
	archived, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo,
		Filter: &types.DescribeImagesFilter{ImageStatus: types.ImageStatusFilterArchived}})
	if err != nil || len(archived.ImageDetails) != 1 || archived.ImageDetails[0].ImageStatus != types.ImageStatusArchived ||
		archived.ImageDetails[0].LastArchivedAt == nil {
		t.Fatalf("archived images = %+v, %v", archived, err)
	}
	active, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo,
		Filter: &types.DescribeImagesFilter{ImageStatus: types.ImageStatusFilterActive}})
	if err != nil || len(active.ImageDetails) != 1 {
		t.Fatalf("active images = %+v, %v", active, err)
	}
	byID, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo, ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || byID.ImageDetails[0].ImageStatus != types.ImageStatusArchived {
		t.Fatalf("described by id = %+v, %v", byID, err)
	}
	// Cannot be pulled.
	bg, err := env.Client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: repo, ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("v2")}}})
	if err != nil || len(bg.Images) != 1 || len(bg.Failures) != 1 || !strings.Contains(aws.ToString(bg.Failures[0].FailureReason), "archived") {
		t.Fatalf("BatchGetImage = %+v, %v", bg, err)
	}

	// Restore: ACTIVATING, then ACTIVE with lastActivatedAt.
	up, err = env.Client.UpdateImageStorageClass(ctx, &ecr.UpdateImageStorageClassInput{RepositoryName: repo,
		ImageId: &types.ImageIdentifier{ImageDigest: aws.String(d.String())}, TargetStorageClass: types.TargetStorageClassStandard})
	if err != nil || up.ImageStatus != types.ImageStatusActivating {
		t.Fatalf("restore = %+v, %v", up, err)
	}
	env.Core.WaitLifecyclePreviews()
	byID, err = env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo, ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || byID.ImageDetails[0].ImageStatus != types.ImageStatusActive || byID.ImageDetails[0].LastActivatedAt == nil {
		t.Fatalf("restored = %+v, %v", byID, err)
	}
	bg, err = env.Client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: repo, ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || len(bg.Images) != 1 {
		t.Fatalf("BatchGetImage after restore = %+v, %v", bg, err)
	}
}

func TestPullTimeUpdateExclusionOps(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, withCreateOnPush())
	env.pushImage(t, "team/app", "v1", "a")
	// A user whose pulls are excluded, with its own key and client.
	scannerARN := "arn:aws:iam::" + testAccount + ":role/scanner"
	other := "arn:aws:iam::" + testAccount + ":user/zed"
	const scannerKey = "AKIASCANNER000000000"
	env.Keys[scannerKey] = auth.AccessKey{ID: scannerKey, Secret: testSecret, Status: auth.KeyActive,
		Owner: auth.Principal{ARN: scannerARN, AccountID: testAccount}}
	scanner := env.newClient(scannerKey, testSecret)

	reg, err := env.Client.RegisterPullTimeUpdateExclusion(ctx, &ecr.RegisterPullTimeUpdateExclusionInput{PrincipalArn: aws.String(scannerARN)})
	if err != nil || aws.ToString(reg.PrincipalArn) != scannerARN || reg.CreatedAt == nil {
		t.Fatalf("register = %+v, %v", reg, err)
	}
	_, err = env.Client.RegisterPullTimeUpdateExclusion(ctx, &ecr.RegisterPullTimeUpdateExclusionInput{PrincipalArn: aws.String(scannerARN)})
	wantCode(t, err, "ExclusionAlreadyExistsException")
	if _, err := env.Client.RegisterPullTimeUpdateExclusion(ctx, &ecr.RegisterPullTimeUpdateExclusionInput{PrincipalArn: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	page, err := env.Client.ListPullTimeUpdateExclusions(ctx, &ecr.ListPullTimeUpdateExclusionsInput{MaxResults: aws.Int32(1)})
	if err != nil || !slices.Equal(page.PullTimeUpdateExclusions, []string{scannerARN}) || page.NextToken == nil {
		t.Fatalf("page 1 = %+v, %v", page, err)
	}
	page, err = env.Client.ListPullTimeUpdateExclusions(ctx, &ecr.ListPullTimeUpdateExclusionsInput{MaxResults: aws.Int32(1), NextToken: page.NextToken})
	if err != nil || !slices.Equal(page.PullTimeUpdateExclusions, []string{other}) || page.NextToken != nil {
		t.Fatalf("page 2 = %+v, %v", page, err)
	}

	// The scanner's pulls leave lastRecordedPullTime alone.
	pull := func() *time.Time {
		t.Helper()
		if _, err := scanner.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("team/app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}}); err != nil {
			t.Fatal(err)
		}
		if err := env.Core.FlushPulls(ctx); err != nil {
			t.Fatal(err)
		}
		out, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("team/app")})
		if err != nil {
			t.Fatal(err)
		}
		return out.ImageDetails[0].LastRecordedPullTime
	}
	if got := pull(); got != nil {
		t.Fatalf("excluded pull recorded at %v", got)
	}
	dereg, err := env.Client.DeregisterPullTimeUpdateExclusion(ctx, &ecr.DeregisterPullTimeUpdateExclusionInput{PrincipalArn: aws.String(scannerARN)})
	if err != nil || aws.ToString(dereg.PrincipalArn) != scannerARN {
		t.Fatalf("deregister = %+v, %v", dereg, err)
	}
	_, err = env.Client.DeregisterPullTimeUpdateExclusion(ctx, &ecr.DeregisterPullTimeUpdateExclusionInput{PrincipalArn: aws.String(scannerARN)})
	wantCode(t, err, "ExclusionNotFoundException")
	if got := pull(); got == nil {
		t.Fatal("pull after deregistering not recorded")
	}
}

func TestListImagesImageStatusFilter(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, withCreateOnPush())
	archived := env.pushImage(t, "team/app", "v1", "a")
	env.pushImage(t, "team/app", "v2", "b")
	env.pushImage(t, "team/app", "", "c")
	if _, err := env.Client.UpdateImageStorageClass(ctx, &ecr.UpdateImageStorageClassInput{RepositoryName: aws.String("team/app"),
		ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}, TargetStorageClass: types.TargetStorageClassArchive}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		status types.ImageStatusFilter
		want   int
	}{
		{types.ImageStatusFilterArchived, 1},
		{types.ImageStatusFilterActive, 2},
		{types.ImageStatusFilterActivating, 0},
		{types.ImageStatusFilterAny, 3},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			var ids []types.ImageIdentifier
			var token *string
			for range 10 {
				out, err := env.Client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("team/app"), MaxResults: aws.Int32(1),
					NextToken: token, Filter: &types.ListImagesFilter{ImageStatus: tt.status}})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, out.ImageIds...)
				if token = out.NextToken; token == nil {
					break
				}
			}
			if len(ids) != tt.want {
				t.Fatalf("%d image ids, want %d: %+v", len(ids), tt.want, ids)
			}
			if tt.status == types.ImageStatusFilterArchived && aws.ToString(ids[0].ImageDigest) != archived.String() {
				t.Fatalf("archived id %+v", ids[0])
			}
		})
	}
	_, err := env.Client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("team/none"),
		Filter: &types.ListImagesFilter{ImageStatus: types.ImageStatusFilterArchived}})
	wantCode(t, err, "RepositoryNotFoundException")
}
