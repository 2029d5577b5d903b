package ecrapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/registry"
)

// Media types used by the image tests.
const (
	imgDockerConfigType = "application/vnd.docker.container.image.v1+json"
	imgDockerLayerType  = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	imgOCIConfigType    = "application/vnd.oci.image.config.v1+json"
	imgOCILayerType     = "application/vnd.oci.image.layer.v1.tar+gzip"
	imgOCIEmptyType     = "application/vnd.oci.empty.v1+json"
)

// imgDesc is a descriptor in a test manifest.
type imgDesc struct {
	MediaType    string            `json:"mediaType"`
	Digest       digest.Digest     `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// imgManifest is a test image manifest or index.
type imgManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        *imgDesc          `json:"config,omitempty"`
	Layers        []imgDesc         `json:"layers,omitempty"`
	Manifests     []imgDesc         `json:"manifests,omitempty"`
	Subject       *imgDesc          `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// imgPushed is what a push helper stored.
type imgPushed struct {
	Digest    digest.Digest
	MediaType string
	Content   []byte
	Size      int64 // ImageSize the core computes (config + layers)
}

func (p imgPushed) desc() imgDesc {
	return imgDesc{MediaType: p.MediaType, Digest: p.Digest, Size: int64(len(p.Content))}
}

// imgBlob stores a blob in repo through the core.
func imgBlob(t *testing.T, env *testEnv, repo string, mediaType string, content []byte) imgDesc {
	t.Helper()
	d := digest.FromBytes(content)
	if _, err := env.Core.PutBlob(context.Background(), repo, d, bytes.NewReader(content)); err != nil {
		t.Fatalf("PutBlob %s: %v", d, err)
	}
	return imgDesc{MediaType: mediaType, Digest: d, Size: int64(len(content))}
}

// imgImageManifest builds (and uploads the blobs of) an image manifest whose
// content depends on seed. docker selects the Docker schema2 media types.
func imgImageManifest(t *testing.T, env *testEnv, repo, seed string, docker bool) (imgManifest, int64) {
	t.Helper()
	cfgType, layerType, mt := imgOCIConfigType, imgOCILayerType, registry.MediaTypeOCIManifest
	if docker {
		cfgType, layerType, mt = imgDockerConfigType, imgDockerLayerType, registry.MediaTypeDockerManifest
	}
	cfg := imgBlob(t, env, repo, cfgType, []byte(`{"architecture":"amd64","os":"linux","seed":"`+seed+`"}`))
	layer := imgBlob(t, env, repo, layerType, []byte("layer bytes of "+seed))
	return imgManifest{SchemaVersion: 2, MediaType: mt, Config: &cfg, Layers: []imgDesc{layer}}, cfg.Size + layer.Size
}

// imgPut stores a manifest through the core under its digest and tags.
func imgPut(t *testing.T, env *testEnv, repo string, m imgManifest, tags ...string) imgPushed {
	t.Helper()
	content, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d := digest.FromBytes(content)
	if _, err := env.Core.PutManifest(context.Background(), repo, d.String(), m.MediaType, content, tags); err != nil {
		t.Fatalf("PutManifest: %v", err)
	}
	return imgPushed{Digest: d, MediaType: m.MediaType, Content: content}
}

// imgPushImage pushes an image (OCI unless docker) with the given tags.
func imgPushImage(t *testing.T, env *testEnv, repo, seed string, docker bool, tags ...string) imgPushed {
	t.Helper()
	m, size := imgImageManifest(t, env, repo, seed, docker)
	p := imgPut(t, env, repo, m, tags...)
	p.Size = size
	return p
}

// imgRepo creates a repository through the core.
func imgRepo(t *testing.T, env *testEnv, name string, settings registry.RepositorySettings) {
	t.Helper()
	if _, err := env.Core.CreateRepository(context.Background(), name, settings); err != nil {
		t.Fatalf("CreateRepository %s: %v", name, err)
	}
}

func imgID(dgst digest.Digest, tag string) types.ImageIdentifier {
	var id types.ImageIdentifier
	if dgst != "" {
		id.ImageDigest = aws.String(dgst.String())
	}
	if tag != "" {
		id.ImageTag = aws.String(tag)
	}
	return id
}

// imgIDString renders an SDK image id for comparisons.
func imgIDString(id types.ImageIdentifier) string {
	return aws.ToString(id.ImageDigest) + "|" + aws.ToString(id.ImageTag)
}

// imgFailureString renders a failure for comparisons.
func imgFailureString(f types.ImageFailure) string {
	return imgIDString(*f.ImageId) + "|" + string(f.FailureCode)
}

// imgMustErr asserts that err is the SDK error type T.
func imgMustErr[T error](t *testing.T, err error) T {
	t.Helper()
	e, ok := asAPIError[T](err)
	if !ok {
		var zero T
		t.Fatalf("error = %v, want %T", err, zero)
	}
	return e
}

func TestImagesDescribeImages(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	const repo = "team/app"
	imgRepo(t, env, repo, registry.RepositorySettings{})
	pushedAt := time.Date(2025, 3, 4, 5, 6, 7, 890e6, time.UTC)
	env.Now = func() time.Time { return pushedAt }

	docker := imgPushImage(t, env, repo, "docker", true, "v1", "latest")
	untagged := imgPushImage(t, env, repo, "untagged", false)
	index := imgPut(t, env, repo, imgManifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIIndex,
		Manifests: []imgDesc{untagged.desc()}}, "multi")
	sig := imgBlob(t, env, repo, imgOCIEmptyType, []byte("{}"))
	referrer := imgPut(t, env, repo, imgManifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIManifest,
		ArtifactType: "application/vnd.example.sig", Config: &sig, Layers: []imgDesc{sig},
		Subject: &imgDesc{MediaType: docker.MediaType, Digest: docker.Digest, Size: int64(len(docker.Content))}})

	t.Run("all images, full detail", func(t *testing.T) {
		out, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo)})
		if err != nil {
			t.Fatal(err)
		}
		if out.NextToken != nil {
			t.Errorf("NextToken = %q, want none", *out.NextToken)
		}
		got := map[string]types.ImageDetail{}
		for _, d := range out.ImageDetails {
			got[aws.ToString(d.ImageDigest)] = d
		}
		if len(got) != 4 {
			t.Fatalf("got %d images, want 4", len(got))
		}
		d := got[docker.Digest.String()]
		if aws.ToString(d.RegistryId) != testAccount || aws.ToString(d.RepositoryName) != repo ||
			!slices.Equal(d.ImageTags, []string{"latest", "v1"}) ||
			aws.ToInt64(d.ImageSizeInBytes) != docker.Size ||
			!aws.ToTime(d.ImagePushedAt).Equal(pushedAt) ||
			aws.ToString(d.ImageManifestMediaType) != registry.MediaTypeDockerManifest ||
			aws.ToString(d.ArtifactMediaType) != imgDockerConfigType ||
			d.LastRecordedPullTime != nil || d.SubjectManifestDigest != nil ||
			d.ImageStatus != types.ImageStatusActive || d.ImageScanStatus != nil || d.ImageScanFindingsSummary != nil {
			t.Errorf("docker image detail = %s", imgJSON(d))
		}
		u := got[untagged.Digest.String()]
		if u.ImageTags != nil || aws.ToString(u.ArtifactMediaType) != imgOCIConfigType ||
			aws.ToString(u.ImageManifestMediaType) != registry.MediaTypeOCIManifest {
			t.Errorf("untagged image detail = %s", imgJSON(u))
		}
		ix := got[index.Digest.String()]
		if ix.ArtifactMediaType != nil || aws.ToString(ix.ImageManifestMediaType) != registry.MediaTypeOCIIndex ||
			!slices.Equal(ix.ImageTags, []string{"multi"}) || aws.ToInt64(ix.ImageSizeInBytes) != untagged.Size {
			t.Errorf("index detail = %s", imgJSON(ix))
		}
		r := got[referrer.Digest.String()]
		if aws.ToString(r.SubjectManifestDigest) != docker.Digest.String() || aws.ToString(r.ArtifactMediaType) != imgOCIEmptyType {
			t.Errorf("referrer detail = %s", imgJSON(r))
		}
	})

	t.Run("tag status filter", func(t *testing.T) {
		for _, c := range []struct {
			status types.TagStatus
			want   []digest.Digest
		}{
			{types.TagStatusTagged, []digest.Digest{docker.Digest, index.Digest}},
			{types.TagStatusUntagged, []digest.Digest{untagged.Digest, referrer.Digest}},
			{types.TagStatusAny, []digest.Digest{docker.Digest, index.Digest, untagged.Digest, referrer.Digest}},
		} {
			out, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo),
				Filter: &types.DescribeImagesFilter{TagStatus: c.status}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range out.ImageDetails {
				got = append(got, aws.ToString(d.ImageDigest))
			}
			if !imgSameSet(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.status, got, c.want)
			}
		}
	})

	t.Run("image status filter", func(t *testing.T) {
		for status, want := range map[types.ImageStatusFilter]int{
			types.ImageStatusFilterActive: 4, types.ImageStatusFilterAny: 4,
			types.ImageStatusFilterArchived: 0, types.ImageStatusFilterActivating: 0,
		} {
			out, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo),
				Filter: &types.DescribeImagesFilter{ImageStatus: status}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.ImageDetails) != want {
				t.Errorf("%s: %d images, want %d", status, len(out.ImageDetails), want)
			}
		}
	})

	t.Run("by image ids", func(t *testing.T) {
		out, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo),
			ImageIds: []types.ImageIdentifier{imgID("", "v1"), imgID(untagged.Digest, ""), imgID(docker.Digest, "latest")}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ImageDetails) != 2 || aws.ToString(out.ImageDetails[0].ImageDigest) != docker.Digest.String() ||
			aws.ToString(out.ImageDetails[1].ImageDigest) != untagged.Digest.String() {
			t.Errorf("details = %s", imgJSON(out.ImageDetails))
		}
	})

	t.Run("last recorded pull time", func(t *testing.T) {
		pulledAt := pushedAt.Add(time.Hour)
		env.Now = func() time.Time { return pulledAt }
		if _, err := env.Client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(repo),
			ImageIds: []types.ImageIdentifier{imgID("", "v1")}}); err != nil {
			t.Fatal(err)
		}
		if err := env.Core.FlushPulls(ctx); err != nil {
			t.Fatal(err)
		}
		out, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo),
			ImageIds: []types.ImageIdentifier{imgID(docker.Digest, "")}})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToTime(out.ImageDetails[0].LastRecordedPullTime); !got.Equal(pulledAt) {
			t.Errorf("lastRecordedPullTime = %v, want %v", got, pulledAt)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo),
			ImageIds: []types.ImageIdentifier{imgID(docker.Digest, ""), imgID("", "nope")}})
		nf := imgMustErr[*types.ImageNotFoundException](t, err)
		want := "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with name 'team/app' in the registry with id '123456789012'"
		if aws.ToString(nf.Message) != want {
			t.Errorf("message = %q, want %q", aws.ToString(nf.Message), want)
		}

		// A digest and a tag of different images do not name an image.
		_, err = env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo),
			ImageIds: []types.ImageIdentifier{imgID(untagged.Digest, "v1")}})
		nf = imgMustErr[*types.ImageNotFoundException](t, err)
		want = fmt.Sprintf("The image with imageId {imageDigest:'%s', imageTag:'v1'} does not exist within the repository with name 'team/app' in the registry with id '123456789012'", untagged.Digest)
		if aws.ToString(nf.Message) != want {
			t.Errorf("message = %q, want %q", aws.ToString(nf.Message), want)
		}

		_, err = env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("team/none")})
		rnf := imgMustErr[*types.RepositoryNotFoundException](t, err)
		if want := "The repository with name 'team/none' does not exist in the registry with id '123456789012'"; aws.ToString(rnf.Message) != want {
			t.Errorf("message = %q, want %q", aws.ToString(rnf.Message), want)
		}
		_, err = env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("team/none"),
			ImageIds: []types.ImageIdentifier{imgID("", "v1")}})
		imgMustErr[*types.RepositoryNotFoundException](t, err)

		for name, in := range map[string]*ecr.DescribeImagesInput{
			"bad token":         {RepositoryName: aws.String(repo), NextToken: aws.String("not a token!")},
			"token not digest":  {RepositoryName: aws.String(repo), NextToken: aws.String("Zm9vYmFy")},
			"ids and max":       {RepositoryName: aws.String(repo), MaxResults: aws.Int32(1), ImageIds: []types.ImageIdentifier{imgID("", "v1")}},
			"id without either": {RepositoryName: aws.String(repo), ImageIds: []types.ImageIdentifier{{}}},
			"id bad digest":     {RepositoryName: aws.String(repo), ImageIds: []types.ImageIdentifier{imgID("sha256:xyz", "")}},
			"other registry":    {RepositoryName: aws.String(repo), RegistryId: aws.String("210987654321")},
		} {
			_, err := env.Client.DescribeImages(ctx, in)
			ip := imgMustErr[*types.InvalidParameterException](t, err)
			if name == "bad token" && aws.ToString(ip.Message) != "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'" {
				t.Errorf("%s: message = %q", name, aws.ToString(ip.Message))
			}
		}
	})
}

func TestImagesDescribeImagesPaginator(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	const repo = "pages"
	imgRepo(t, env, repo, registry.RepositorySettings{})
	var want []digest.Digest
	for i := range 7 {
		tags := []string{}
		if i%2 == 0 {
			tags = append(tags, fmt.Sprintf("t%d", i))
		}
		want = append(want, imgPushImage(t, env, repo, fmt.Sprint(i), i%3 == 0, tags...).Digest)
	}

	for _, c := range []struct {
		limit     int32
		tagStatus types.TagStatus
		want      int
	}{
		{3, "", 7}, {1, "", 7}, {7, "", 7}, {1000, "", 7}, {2, types.TagStatusTagged, 4}, {2, types.TagStatusUntagged, 3},
	} {
		in := &ecr.DescribeImagesInput{RepositoryName: aws.String(repo)}
		if c.tagStatus != "" {
			in.Filter = &types.DescribeImagesFilter{TagStatus: c.tagStatus}
		}
		p := ecr.NewDescribeImagesPaginator(env.Client, in, func(o *ecr.DescribeImagesPaginatorOptions) { o.Limit = c.limit })
		var got []string
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("limit %d: %v", c.limit, err)
			}
			pages++
			if len(out.ImageDetails) > int(c.limit) {
				t.Errorf("limit %d: page of %d", c.limit, len(out.ImageDetails))
			}
			for _, d := range out.ImageDetails {
				got = append(got, aws.ToString(d.ImageDigest))
				if c.tagStatus == types.TagStatusTagged && len(d.ImageTags) == 0 ||
					c.tagStatus == types.TagStatusUntagged && len(d.ImageTags) > 0 {
					t.Errorf("%s: got %s", c.tagStatus, imgJSON(d))
				}
			}
		}
		if len(got) != c.want || len(slices.Compact(slices.Sorted(slices.Values(got)))) != c.want {
			t.Errorf("limit %d %s: got %d images %v, want %d distinct", c.limit, c.tagStatus, len(got), got, c.want)
		}
		if c.tagStatus == "" && !imgSameSet(got, want) {
			t.Errorf("limit %d: got %v, want %v", c.limit, got, want)
		}
		if minPages := (c.want + int(c.limit) - 1) / int(c.limit); pages < minPages {
			t.Errorf("limit %d: %d pages, want at least %d", c.limit, pages, minPages)
		}
	}
}

func TestImagesListImages(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	const repo = "list/me"
	imgRepo(t, env, repo, registry.RepositorySettings{})
	a := imgPushImage(t, env, repo, "a", true, "a1", "a2", "a3")
	b := imgPushImage(t, env, repo, "b", false)
	c := imgPushImage(t, env, repo, "c", false, "c1")
	d := imgPushImage(t, env, repo, "d", true)
	tagged := []string{a.Digest.String() + "|a1", a.Digest.String() + "|a2", a.Digest.String() + "|a3", c.Digest.String() + "|c1"}
	untagged := []string{b.Digest.String() + "|", d.Digest.String() + "|"}
	all := append(slices.Clone(tagged), untagged...)

	list := func(t *testing.T, status types.TagStatus, maxResults int32) []string {
		t.Helper()
		in := &ecr.ListImagesInput{RepositoryName: aws.String(repo)}
		if status != "" {
			in.Filter = &types.ListImagesFilter{TagStatus: status}
		}
		if maxResults > 0 {
			in.MaxResults = aws.Int32(maxResults)
		}
		var got []string
		for page := 0; ; page++ {
			if page > 20 {
				t.Fatal("too many pages")
			}
			out, err := env.Client.ListImages(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if maxResults > 0 && len(out.ImageIds) > int(maxResults) {
				t.Errorf("page of %d ids, max %d", len(out.ImageIds), maxResults)
			}
			for _, id := range out.ImageIds {
				got = append(got, imgIDString(id))
			}
			if out.NextToken == nil {
				return got
			}
			in.NextToken = out.NextToken
		}
	}
	for _, c := range []struct {
		status types.TagStatus
		max    int32
		want   []string
	}{
		{"", 0, all}, {types.TagStatusAny, 0, all}, {types.TagStatusTagged, 0, tagged}, {types.TagStatusUntagged, 0, untagged},
		{"", 1, all}, {"", 2, all}, {"", 4, all}, {types.TagStatusTagged, 2, tagged}, {types.TagStatusUntagged, 1, untagged},
	} {
		got := list(t, c.status, c.max)
		if len(got) != len(c.want) || !imgSameSet(got, c.want) {
			t.Errorf("%q max %d: got %v, want %v", c.status, c.max, got, c.want)
		}
	}

	t.Run("empty repository lists no ids", func(t *testing.T) {
		imgRepo(t, env, "empty", registry.RepositorySettings{})
		out, err := env.Client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("empty")})
		if err != nil || len(out.ImageIds) != 0 || out.NextToken != nil {
			t.Fatalf("ListImages = %+v, %v", out, err)
		}
	})

	t.Run("page ends inside an image's tags", func(t *testing.T) {
		const repo = "list/tags"
		imgRepo(t, env, repo, registry.RepositorySettings{})
		p := imgPushImage(t, env, repo, "tags", false, "t1", "t2", "t3")
		page := func(token *string) *ecr.ListImagesOutput {
			t.Helper()
			out, err := env.Client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String(repo), MaxResults: aws.Int32(2), NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		first := page(nil)
		if len(first.ImageIds) != 2 || first.NextToken == nil {
			t.Fatalf("first page = %s", imgJSON(first))
		}
		second := page(first.NextToken)
		if len(second.ImageIds) != 1 || imgIDString(second.ImageIds[0]) != p.Digest.String()+"|t3" || second.NextToken != nil {
			t.Errorf("second page = %s", imgJSON(second))
		}
		// The image the token names is gone: the listing continues after it.
		if _, err := env.Core.DeleteImage(ctx, repo, registry.ImageID{Digest: p.Digest}); err != nil {
			t.Fatal(err)
		}
		if again := page(first.NextToken); len(again.ImageIds) != 0 || again.NextToken != nil {
			t.Errorf("page after delete = %s", imgJSON(again))
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := env.Client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("nope")})
		imgMustErr[*types.RepositoryNotFoundException](t, err)
		_, err = env.Client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("nope"),
			Filter: &types.ListImagesFilter{ImageStatus: types.ImageStatusFilterArchived}})
		imgMustErr[*types.RepositoryNotFoundException](t, err)
		_, err = env.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("nope"),
			Filter: &types.DescribeImagesFilter{ImageStatus: types.ImageStatusFilterArchived}})
		imgMustErr[*types.RepositoryNotFoundException](t, err)
		_, err = env.Client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String(repo), RegistryId: aws.String("210987654321")})
		imgMustErr[*types.InvalidParameterException](t, err)
		_, err = env.Client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String(repo), NextToken: aws.String("%%%")})
		imgMustErr[*types.InvalidParameterException](t, err)
	})
}

func TestImagesBatchGetImage(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	const repo = "get/me"
	imgRepo(t, env, repo, registry.RepositorySettings{})
	docker := imgPushImage(t, env, repo, "docker", true, "v1")
	oci := imgPushImage(t, env, repo, "oci", false, "v2")
	index := imgPut(t, env, repo, imgManifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIIndex,
		Manifests: []imgDesc{oci.desc()}}, "multi")
	missing := digest.FromString("missing")

	out, err := env.Client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(repo),
		ImageIds: []types.ImageIdentifier{
			imgID("", "v1"), imgID(oci.Digest, ""), imgID(index.Digest, "multi"),
			imgID("", "nope"), imgID(missing, ""), imgID(docker.Digest, "v2"), imgID(missing, "v1"),
			imgID("sha256:1234", ""), {}, imgID("", "-bad"),
		}})
	if err != nil {
		t.Fatal(err)
	}
	var gotImages []string
	for _, img := range out.Images {
		gotImages = append(gotImages, imgIDString(*img.ImageId))
		if aws.ToString(img.RegistryId) != testAccount || aws.ToString(img.RepositoryName) != repo {
			t.Errorf("image = %s", imgJSON(img))
		}
		var want imgPushed
		switch digest.Digest(aws.ToString(img.ImageId.ImageDigest)) {
		case docker.Digest:
			want = docker
		case oci.Digest:
			want = oci
		case index.Digest:
			want = index
		}
		if aws.ToString(img.ImageManifest) != string(want.Content) || aws.ToString(img.ImageManifestMediaType) != want.MediaType {
			t.Errorf("image %s: manifest %q (%s)", want.Digest, aws.ToString(img.ImageManifest), aws.ToString(img.ImageManifestMediaType))
		}
	}
	wantImages := []string{docker.Digest.String() + "|v1", oci.Digest.String() + "|", index.Digest.String() + "|multi"}
	if !slices.Equal(gotImages, wantImages) {
		t.Errorf("images = %v, want %v", gotImages, wantImages)
	}
	var gotFailures []string
	for _, f := range out.Failures {
		gotFailures = append(gotFailures, imgFailureString(f))
		if aws.ToString(f.FailureReason) == "" {
			t.Errorf("failure %s has no reason", imgFailureString(f))
		}
	}
	wantFailures := []string{
		"|nope|ImageNotFound",
		missing.String() + "||ImageNotFound",
		docker.Digest.String() + "|v2|ImageTagDoesNotMatchDigest",
		missing.String() + "|v1|ImageTagDoesNotMatchDigest",
		"sha256:1234||InvalidImageDigest",
		"||MissingDigestAndTag",
		"|-bad|InvalidImageTag",
	}
	if !slices.Equal(gotFailures, wantFailures) {
		t.Errorf("failures = %v, want %v", gotFailures, wantFailures)
	}
	if f := out.Failures[0]; aws.ToString(f.FailureReason) != "Requested image not found" {
		t.Errorf("ImageNotFound reason = %q", aws.ToString(f.FailureReason))
	}

	t.Run("accepted media types", func(t *testing.T) {
		out, err := env.Client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(repo),
			ImageIds:           []types.ImageIdentifier{imgID("", "v1"), imgID("", "v2"), imgID("", "multi")},
			AcceptedMediaTypes: []string{registry.MediaTypeDockerManifest, registry.MediaTypeOCIManifest}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Images) != 2 || len(out.Failures) != 1 ||
			imgFailureString(out.Failures[0]) != "|multi|"+string(types.ImageFailureCodeImageNotFound) {
			t.Errorf("out = %s", imgJSON(out))
		}
		out, err = env.Client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(repo),
			ImageIds:           []types.ImageIdentifier{imgID("", "v1"), imgID("", "v2")},
			AcceptedMediaTypes: []string{registry.MediaTypeOCIManifest}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Images) != 1 || aws.ToString(out.Images[0].ImageId.ImageTag) != "v2" ||
			len(out.Failures) != 1 || aws.ToString(out.Failures[0].ImageId.ImageTag) != "v1" {
			t.Errorf("out = %s", imgJSON(out))
		}
	})

	t.Run("records pulls", func(t *testing.T) {
		if err := env.Core.FlushPulls(ctx); err != nil {
			t.Fatal(err)
		}
		img, err := env.Core.FindImage(ctx, repo, registry.ImageID{Tag: "v1"})
		if err != nil || img.LastPulledAt == nil {
			t.Fatalf("FindImage = %+v, %v; want a pull time", img, err)
		}
		img, err = env.Core.FindImage(ctx, repo, registry.ImageID{Tag: "multi"})
		if err != nil || img.LastPulledAt == nil {
			t.Fatalf("index FindImage = %+v, %v; want a pull time", img, err)
		}
	})

	t.Run("repository not found", func(t *testing.T) {
		_, err := env.Client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("get/none"),
			ImageIds: []types.ImageIdentifier{imgID("", "v1")}})
		imgMustErr[*types.RepositoryNotFoundException](t, err)
	})
}

func TestImagesBatchDeleteImage(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	const repo = "del/me"
	imgRepo(t, env, repo, registry.RepositorySettings{})
	multi := imgPushImage(t, env, repo, "multi", true, "m1", "m2", "m3")
	single := imgPushImage(t, env, repo, "single", false, "s1")
	bare := imgPushImage(t, env, repo, "bare", false)
	child := imgPushImage(t, env, repo, "child", false, "child")
	index := imgPut(t, env, repo, imgManifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIIndex,
		Manifests: []imgDesc{child.desc()}}, "list")
	missing := digest.FromString("missing")

	del := func(t *testing.T, ids ...types.ImageIdentifier) ([]string, []string) {
		t.Helper()
		out, err := env.Client.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String(repo), ImageIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		var deleted, failed []string
		for _, id := range out.ImageIds {
			deleted = append(deleted, imgIDString(id))
		}
		for _, f := range out.Failures {
			failed = append(failed, imgFailureString(f))
		}
		return deleted, failed
	}
	exists := func(id registry.ImageID) bool {
		_, err := env.Core.FindImage(ctx, repo, id)
		return err == nil
	}

	for _, c := range []struct {
		name        string
		ids         []types.ImageIdentifier
		wantDeleted []string
		wantFailed  []string
		check       func() bool
	}{
		{"one of several tags", []types.ImageIdentifier{imgID("", "m1")}, []string{multi.Digest.String() + "|m1"}, nil,
			func() bool {
				return exists(registry.ImageID{Digest: multi.Digest}) && !exists(registry.ImageID{Tag: "m1"})
			}},
		{"by digest reports every tag", []types.ImageIdentifier{imgID(multi.Digest, "")},
			[]string{multi.Digest.String() + "|m2", multi.Digest.String() + "|m3"}, nil,
			func() bool { return !exists(registry.ImageID{Digest: multi.Digest}) }},
		{"last tag deletes the image", []types.ImageIdentifier{imgID("", "s1")}, []string{single.Digest.String() + "|s1"}, nil,
			func() bool { return !exists(registry.ImageID{Digest: single.Digest}) }},
		{"untagged by digest", []types.ImageIdentifier{imgID(bare.Digest, "")}, []string{bare.Digest.String() + "|"}, nil,
			func() bool { return !exists(registry.ImageID{Digest: bare.Digest}) }},
		{"referenced by an index", []types.ImageIdentifier{imgID(child.Digest, ""), imgID("", "child")}, nil,
			[]string{child.Digest.String() + "||ImageReferencedByManifestList", "|child|ImageReferencedByManifestList"},
			func() bool { return exists(registry.ImageID{Tag: "child"}) }},
		{"failures", []types.ImageIdentifier{imgID("", "gone"), imgID(missing, ""), imgID(index.Digest, "child"),
			imgID("sha256:zz", ""), {}, imgID("", ".bad")}, nil,
			[]string{"|gone|ImageNotFound", missing.String() + "||ImageNotFound", index.Digest.String() + "|child|ImageTagDoesNotMatchDigest",
				"sha256:zz||InvalidImageDigest", "||MissingDigestAndTag", "|.bad|InvalidImageTag"},
			func() bool { return exists(registry.ImageID{Digest: index.Digest}) }},
		{"index then its child", []types.ImageIdentifier{imgID("", "list"), imgID(child.Digest, "")},
			[]string{index.Digest.String() + "|list", child.Digest.String() + "|child"}, nil,
			func() bool { return !exists(registry.ImageID{Digest: child.Digest}) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			deleted, failed := del(t, c.ids...)
			if !slices.Equal(deleted, c.wantDeleted) || !slices.Equal(failed, c.wantFailed) {
				t.Errorf("deleted %v failed %v, want %v and %v", deleted, failed, c.wantDeleted, c.wantFailed)
			}
			if !c.check() {
				t.Error("repository state is wrong afterwards")
			}
		})
	}

	t.Run("repository not found", func(t *testing.T) {
		_, err := env.Client.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("del/none"),
			ImageIds: []types.ImageIdentifier{imgID("", "v1")}})
		imgMustErr[*types.RepositoryNotFoundException](t, err)
	})
}

func TestImagesPutImage(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	const repo = "put/me"
	imgRepo(t, env, repo, registry.RepositorySettings{})

	m, _ := imgImageManifest(t, env, repo, "one", true)
	content := imgJSON(m)
	dgst := digest.FromString(content)

	put := func(in *ecr.PutImageInput) (*ecr.PutImageOutput, error) {
		if in.RepositoryName == nil {
			in.RepositoryName = aws.String(repo)
		}
		return env.Client.PutImage(ctx, in)
	}

	out, err := put(&ecr.PutImageInput{ImageManifest: aws.String(content), ImageTag: aws.String("v1"),
		ImageManifestMediaType: aws.String(registry.MediaTypeDockerManifest)})
	if err != nil {
		t.Fatal(err)
	}
	img := out.Image
	if aws.ToString(img.RegistryId) != testAccount || aws.ToString(img.RepositoryName) != repo ||
		aws.ToString(img.ImageId.ImageDigest) != dgst.String() || aws.ToString(img.ImageId.ImageTag) != "v1" ||
		aws.ToString(img.ImageManifest) != content || aws.ToString(img.ImageManifestMediaType) != registry.MediaTypeDockerManifest {
		t.Errorf("image = %s", imgJSON(img))
	}
	stored, err := env.Core.FindImage(ctx, repo, registry.ImageID{Tag: "v1"})
	if err != nil || stored.Digest != dgst || string(stored.Content) != content {
		t.Fatalf("stored = %+v, %v", stored, err)
	}

	t.Run("same image and tag again", func(t *testing.T) {
		_, err := put(&ecr.PutImageInput{ImageManifest: aws.String(content), ImageTag: aws.String("v1")})
		e := imgMustErr[*types.ImageAlreadyExistsException](t, err)
		want := fmt.Sprintf("Image with digest '%s' and tag 'v1' already exists in the repository with name 'put/me' in registry with id '123456789012'", dgst)
		if aws.ToString(e.Message) != want {
			t.Errorf("message = %q, want %q", aws.ToString(e.Message), want)
		}
	})

	t.Run("another tag, digest given, media type from the body", func(t *testing.T) {
		out, err := put(&ecr.PutImageInput{ImageManifest: aws.String(content), ImageTag: aws.String("v2"), ImageDigest: aws.String(dgst.String())})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Image.ImageId.ImageTag) != "v2" || aws.ToString(out.Image.ImageManifestMediaType) != registry.MediaTypeDockerManifest {
			t.Errorf("image = %s", imgJSON(out.Image))
		}
		got, err := env.Core.FindImage(ctx, repo, registry.ImageID{Digest: dgst})
		if err != nil || !slices.Equal(got.Tags, []string{"v1", "v2"}) {
			t.Errorf("tags = %v, %v", got, err)
		}
	})

	t.Run("untagged OCI manifest without media type", func(t *testing.T) {
		m, _ := imgImageManifest(t, env, repo, "oci", false)
		m.MediaType = ""
		content := imgJSON(m)
		out, err := put(&ecr.PutImageInput{ImageManifest: aws.String(content)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Image.ImageId.ImageTag != nil || aws.ToString(out.Image.ImageManifestMediaType) != registry.MediaTypeOCIManifest ||
			aws.ToString(out.Image.ImageId.ImageDigest) != digest.FromString(content).String() {
			t.Errorf("image = %s", imgJSON(out.Image))
		}
		_, err = put(&ecr.PutImageInput{ImageManifest: aws.String(content)})
		e := imgMustErr[*types.ImageAlreadyExistsException](t, err)
		if want := "Image with digest '" + digest.FromString(content).String() + "' and tag 'null' already exists in the repository with name 'put/me' in registry with id '123456789012'"; aws.ToString(e.Message) != want {
			t.Errorf("message = %q", aws.ToString(e.Message))
		}
	})

	t.Run("index", func(t *testing.T) {
		child := imgPushImage(t, env, repo, "child", false)
		ix := imgJSON(imgManifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIIndex, Manifests: []imgDesc{child.desc()}})
		out, err := put(&ecr.PutImageInput{ImageManifest: aws.String(ix), ImageTag: aws.String("multi")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Image.ImageManifestMediaType) != registry.MediaTypeOCIIndex {
			t.Errorf("image = %s", imgJSON(out.Image))
		}
	})

	lost := imgDesc{MediaType: imgDockerLayerType, Digest: digest.FromString("lost"), Size: 4}
	withLostLayer := m
	withLostLayer.Layers = append(slices.Clone(m.Layers), lost)
	lostChild := imgDesc{MediaType: registry.MediaTypeOCIManifest, Digest: digest.FromString("lost child"), Size: 10}
	for _, c := range []struct {
		name  string
		in    *ecr.PutImageInput
		check func(t *testing.T, err error)
	}{
		{"missing layer", &ecr.PutImageInput{ImageManifest: aws.String(imgJSON(withLostLayer)), ImageTag: aws.String("x")},
			func(t *testing.T, err error) {
				e := imgMustErr[*types.LayersNotFoundException](t, err)
				want := fmt.Sprintf("Layers with digests '[%s]' required for pushing image into repository with name 'put/me' in the registry with id '123456789012' do not exist", lost.Digest)
				if aws.ToString(e.Message) != want {
					t.Errorf("message = %q", aws.ToString(e.Message))
				}
			}},
		{"missing child manifest", &ecr.PutImageInput{ImageTag: aws.String("x"),
			ImageManifest: aws.String(imgJSON(imgManifest{SchemaVersion: 2, MediaType: registry.MediaTypeDockerManifestList, Manifests: []imgDesc{lostChild}}))},
			func(t *testing.T, err error) {
				e := imgMustErr[*types.ReferencedImagesNotFoundException](t, err)
				if !bytes.Contains([]byte(aws.ToString(e.Message)), []byte(lostChild.Digest)) {
					t.Errorf("message = %q", aws.ToString(e.Message))
				}
			}},
		{"missing child of an index without mediaType", &ecr.PutImageInput{
			ImageManifest: aws.String(imgJSON(imgManifest{SchemaVersion: 2, Manifests: []imgDesc{lostChild}}))},
			func(t *testing.T, err error) { imgMustErr[*types.ReferencedImagesNotFoundException](t, err) }},
		{"digest mismatch", &ecr.PutImageInput{ImageManifest: aws.String(content), ImageDigest: aws.String(digest.FromString("other").String())},
			func(t *testing.T, err error) {
				e := imgMustErr[*types.ImageDigestDoesNotMatchException](t, err)
				want := fmt.Sprintf("The specified image digest '%s' does not match the digest '%s' calculated for the image manifest", digest.FromString("other"), dgst)
				if aws.ToString(e.Message) != want {
					t.Errorf("message = %q, want %q", aws.ToString(e.Message), want)
				}
			}},
		{"malformed digest", &ecr.PutImageInput{ImageManifest: aws.String(content), ImageDigest: aws.String("sha256:nope")},
			func(t *testing.T, err error) { imgMustErr[*types.InvalidParameterException](t, err) }},
		{"not JSON", &ecr.PutImageInput{ImageManifest: aws.String("not json")},
			func(t *testing.T, err error) { imgMustErr[*types.InvalidParameterException](t, err) }},
		{"schema 1", &ecr.PutImageInput{ImageManifest: aws.String(`{"schemaVersion":1,"fsLayers":[]}`)},
			func(t *testing.T, err error) { imgMustErr[*types.InvalidParameterException](t, err) }},
		{"media type disagrees", &ecr.PutImageInput{ImageManifest: aws.String(content), ImageManifestMediaType: aws.String(registry.MediaTypeOCIManifest)},
			func(t *testing.T, err error) { imgMustErr[*types.InvalidParameterException](t, err) }},
		{"invalid tag", &ecr.PutImageInput{ImageManifest: aws.String(content), ImageTag: aws.String("-x")},
			func(t *testing.T, err error) { imgMustErr[*types.InvalidParameterException](t, err) }},
		{"repository not found", &ecr.PutImageInput{RepositoryName: aws.String("put/none"), ImageManifest: aws.String(content), ImageTag: aws.String("v1")},
			func(t *testing.T, err error) { imgMustErr[*types.RepositoryNotFoundException](t, err) }},
		{"other registry", &ecr.PutImageInput{RegistryId: aws.String("210987654321"), ImageManifest: aws.String(content)},
			func(t *testing.T, err error) { imgMustErr[*types.InvalidParameterException](t, err) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := put(c.in)
			c.check(t, err)
		})
	}
	if _, err := env.Core.FindImage(ctx, repo, registry.ImageID{Tag: "x"}); registry.KindOf(err) != registry.KindManifestUnknown {
		t.Errorf("a failed put left tag x: %v", err)
	}
}

func TestImagesPutImageImmutableTags(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	for i, c := range []struct {
		name     string
		settings registry.RepositorySettings
		tag      string
		refused  bool
	}{
		{"immutable", registry.RepositorySettings{ImageTagMutability: registry.TagImmutable}, "v1", true},
		{"mutable", registry.RepositorySettings{ImageTagMutability: registry.TagMutable}, "v1", false},
		{"immutable, excluded tag", registry.RepositorySettings{ImageTagMutability: registry.TagImmutableWithExclusion,
			MutabilityFilters: []registry.TagFilter{{FilterType: "WILDCARD", Filter: "latest*"}}}, "latest", false},
		{"immutable with exclusion, other tag", registry.RepositorySettings{ImageTagMutability: registry.TagImmutableWithExclusion,
			MutabilityFilters: []registry.TagFilter{{FilterType: "WILDCARD", Filter: "latest*"}}}, "v1", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := fmt.Sprintf("imm/r%d", i)
			imgRepo(t, env, repo, c.settings)
			m1, _ := imgImageManifest(t, env, repo, "first", true)
			m2, _ := imgImageManifest(t, env, repo, "second", true)
			first, err := env.Client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(repo), ImageManifest: aws.String(imgJSON(m1)), ImageTag: aws.String(c.tag)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = env.Client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(repo), ImageManifest: aws.String(imgJSON(m2)), ImageTag: aws.String(c.tag)})
			got, ferr := env.Core.FindImage(ctx, repo, registry.ImageID{Tag: c.tag})
			if ferr != nil {
				t.Fatal(ferr)
			}
			if !c.refused {
				if err != nil || got.Digest == digest.Digest(aws.ToString(first.Image.ImageId.ImageDigest)) {
					t.Fatalf("retag: %v; tag at %s", err, got.Digest)
				}
				return
			}
			e := imgMustErr[*types.ImageTagAlreadyExistsException](t, err)
			want := fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", c.tag, repo)
			if aws.ToString(e.Message) != want {
				t.Errorf("message = %q, want %q", aws.ToString(e.Message), want)
			}
			if got.Digest != digest.Digest(aws.ToString(first.Image.ImageId.ImageDigest)) {
				t.Errorf("tag moved to %s", got.Digest)
			}
			// The same image under the same tag is ImageAlreadyExists, not a tag conflict.
			_, err = env.Client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(repo), ImageManifest: aws.String(imgJSON(m1)), ImageTag: aws.String(c.tag)})
			imgMustErr[*types.ImageAlreadyExistsException](t, err)
		})
	}
}

func TestImagesListImageReferrers(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	const repo = "refs"
	imgRepo(t, env, repo, registry.RepositorySettings{})
	subject := imgPushImage(t, env, repo, "subject", false, "v1")
	other := imgPushImage(t, env, repo, "other", false, "v2")
	empty := imgBlob(t, env, repo, imgOCIEmptyType, []byte("{}"))
	refer := func(to imgPushed, artifactType, note string) imgPushed {
		layer := imgBlob(t, env, repo, "application/octet-stream", []byte(note))
		return imgPut(t, env, repo, imgManifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIManifest, ArtifactType: artifactType,
			Config: &empty, Layers: []imgDesc{layer}, Subject: &imgDesc{MediaType: to.MediaType, Digest: to.Digest, Size: int64(len(to.Content))},
			Annotations: map[string]string{"note": note}})
	}
	sigs := []imgPushed{refer(subject, "application/vnd.example.sig", "s1"), refer(subject, "application/vnd.example.sig", "s2")}
	sbom := refer(subject, "application/spdx+json", "sbom")
	refer(other, "application/vnd.example.sig", "elsewhere")

	list := func(t *testing.T, in *ecr.ListImageReferrersInput) []types.ImageReferrer {
		t.Helper()
		in.RepositoryName = aws.String(repo)
		if in.SubjectId == nil {
			in.SubjectId = &types.SubjectIdentifier{ImageDigest: aws.String(subject.Digest.String())}
		}
		var all []types.ImageReferrer
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("too many pages")
			}
			out, err := env.Client.ListImageReferrers(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if in.MaxResults != nil && len(out.Referrers) > int(*in.MaxResults) {
				t.Errorf("page of %d", len(out.Referrers))
			}
			all = append(all, out.Referrers...)
			if out.NextToken == nil {
				return all
			}
			in.NextToken = out.NextToken
		}
	}
	digests := func(rs []types.ImageReferrer) []string {
		var out []string
		for _, r := range rs {
			out = append(out, aws.ToString(r.Digest))
		}
		return out
	}
	sorted := func(ps ...imgPushed) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Digest.String())
		}
		sort.Strings(out)
		return out
	}

	all := list(t, &ecr.ListImageReferrersInput{})
	if got, want := digests(all), sorted(sigs[0], sigs[1], sbom); !slices.Equal(got, want) {
		t.Fatalf("referrers = %v, want %v", got, want)
	}
	for _, r := range all {
		var want imgPushed
		for _, p := range append(slices.Clone(sigs), sbom) {
			if p.Digest.String() == aws.ToString(r.Digest) {
				want = p
			}
		}
		if aws.ToString(r.MediaType) != registry.MediaTypeOCIManifest || aws.ToInt64(r.Size) != int64(len(want.Content)) ||
			r.ArtifactStatus != types.ArtifactStatusActive || r.Annotations["note"] == "" || aws.ToString(r.ArtifactType) == "" {
			t.Errorf("referrer = %s", imgJSON(r))
		}
	}
	if got, want := digests(list(t, &ecr.ListImageReferrersInput{MaxResults: aws.Int32(1)})), sorted(sigs[0], sigs[1], sbom); !slices.Equal(got, want) {
		t.Errorf("paged referrers = %v, want %v", got, want)
	}
	if got, want := digests(list(t, &ecr.ListImageReferrersInput{MaxResults: aws.Int32(1),
		Filter: &types.ListImageReferrersFilter{ArtifactTypes: []string{"application/vnd.example.sig"}}})), sorted(sigs...); !slices.Equal(got, want) {
		t.Errorf("sig referrers = %v, want %v", got, want)
	}
	if got, want := digests(list(t, &ecr.ListImageReferrersInput{
		Filter: &types.ListImageReferrersFilter{ArtifactTypes: []string{"application/spdx+json", "application/x-none"}}})), sorted(sbom); !slices.Equal(got, want) {
		t.Errorf("sbom referrers = %v, want %v", got, want)
	}
	if got := list(t, &ecr.ListImageReferrersInput{Filter: &types.ListImageReferrersFilter{ArtifactStatus: types.ArtifactStatusFilterArchived}}); len(got) != 0 {
		t.Errorf("archived referrers = %v", digests(got))
	}
	if got := list(t, &ecr.ListImageReferrersInput{SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String(digest.FromString("none").String())}}); len(got) != 0 {
		t.Errorf("referrers of an unknown subject = %v", digests(got))
	}

	t.Run("errors", func(t *testing.T) {
		_, err := env.Client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String("refs/none"),
			SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String(subject.Digest.String())}})
		imgMustErr[*types.RepositoryNotFoundException](t, err)
		_, err = env.Client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String(repo),
			SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String("sha256:bad")}})
		imgMustErr[*types.InvalidParameterException](t, err)
		_, err = env.Client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String(repo),
			SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String(subject.Digest.String())}, NextToken: aws.String("!!")})
		imgMustErr[*types.InvalidParameterException](t, err)
	})
}

// TestImagesPageToken covers the nextToken encoding directly.
func TestImagesPageToken(t *testing.T) {
	d := digest.FromString("x")
	for _, c := range []struct {
		digest digest.Digest
		tag    string
	}{{d, ""}, {d, "v1.2-rc_3"}} {
		tok := encodePageToken(c.digest, c.tag)
		gd, gt, err := decodePageToken(&tok)
		if err != nil || gd != c.digest || gt != c.tag {
			t.Errorf("round trip %v %q: %v %q %v", c.digest, c.tag, gd, gt, err)
		}
	}
	for _, bad := range []string{"***", "Zm9v", encodePageToken(d, "") + "A", base64Raw("sha256:abc"), base64Raw(d.String() + " -bad")} {
		if _, _, err := decodePageToken(&bad); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
	if d, tag, err := decodePageToken(nil); d != "" || tag != "" || err != nil {
		t.Errorf("nil token: %v %q %v", d, tag, err)
	}
}

func base64Raw(s string) string { return encodePageToken(digest.Digest(s), "") }

// imgSameSet reports whether got holds exactly the strings of want, in any order.
func imgSameSet[S ~string](got []string, want []S) bool {
	if len(got) != len(want) {
		return false
	}
	w := make([]string, len(want))
	for i, s := range want {
		w[i] = string(s)
	}
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(w)))
}

// imgJSON renders v for failure messages (and test manifests).
func imgJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
