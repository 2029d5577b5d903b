package ecrapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-registry/berth/internal/registry"
)

// registerImageOps registers this file's operations.
func (s *Service) registerImageOps(d *Dispatcher) {
	d.Register("DescribeImages", s.describeImages)
	d.Register("ListImages", s.listImages)
	d.Register("BatchGetImage", s.batchGetImage)
	d.Register("BatchDeleteImage", s.batchDeleteImage)
	d.Register("PutImage", s.putImage)
	d.Register("ListImageReferrers", s.listImageReferrers)
}

// Page sizes when the request gives no maxResults (ECR's defaults).
const (
	defaultImagePageSize    = 100
	defaultReferrerPageSize = 50
)

// imageStatusActive is the status of an image that is not archived
// (lifecycleops.go reads the others from the core).
const imageStatusActive = "ACTIVE"

// ImageFailureCode values (the model's enum).
const (
	failureInvalidImageDigest         = "InvalidImageDigest"
	failureInvalidImageTag            = "InvalidImageTag"
	failureImageTagDoesNotMatchDigest = "ImageTagDoesNotMatchDigest"
	failureImageNotFound              = "ImageNotFound"
	failureMissingDigestAndTag        = "MissingDigestAndTag"
	failureReferencedByManifestList   = "ImageReferencedByManifestList"
)

// imageIdentifier is the model's ImageIdentifier, in input and output.
type imageIdentifier struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

// imageFailure is the model's ImageFailure.
type imageFailure struct {
	ImageID       imageIdentifier `json:"imageId"`
	FailureCode   string          `json:"failureCode"`
	FailureReason string          `json:"failureReason"`
}

// ecrImage is the model's Image (BatchGetImage, PutImage).
type ecrImage struct {
	RegistryID             string          `json:"registryId"`
	RepositoryName         string          `json:"repositoryName"`
	ImageID                imageIdentifier `json:"imageId"`
	ImageManifest          string          `json:"imageManifest"`
	ImageManifestMediaType string          `json:"imageManifestMediaType,omitempty"`
}

// imageFilter is the model's DescribeImagesFilter and ListImagesFilter.
type imageFilter struct {
	TagStatus   *string `json:"tagStatus"`
	ImageStatus *string `json:"imageStatus"`
}

// tagStatus returns the filter's tag status, ANY by default.
func (f *imageFilter) tagStatus() string {
	if f == nil || f.TagStatus == nil {
		return registry.TagStatusAny
	}
	return *f.TagStatus
}

// activeStatusMatches reports whether an image/artifact status filter
// (ACTIVE, ARCHIVED, ACTIVATING, ANY) matches active content.
func activeStatusMatches(status string) bool {
	return status == imageStatusActive || status == "ANY"
}

// ---- DescribeImages ----

type describeImagesInput struct {
	RegistryID     *string           `json:"registryId"`
	RepositoryName string            `json:"repositoryName"`
	ImageIDs       []imageIdentifier `json:"imageIds"`
	NextToken      *string           `json:"nextToken"`
	MaxResults     *int32            `json:"maxResults"`
	Filter         *imageFilter      `json:"filter"`
}

// imageDetail is the model's ImageDetail. Scan status and findings belong to
// image scanning and are omitted; archiving does not exist, so
// lastArchivedAt/lastActivatedAt are never set.
type imageDetail struct {
	RegistryID             string    `json:"registryId"`
	RepositoryName         string    `json:"repositoryName"`
	ImageDigest            string    `json:"imageDigest"`
	ImageTags              []string  `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64     `json:"imageSizeInBytes"`
	ImagePushedAt          EpochTime `json:"imagePushedAt,omitzero"`
	ImageManifestMediaType string    `json:"imageManifestMediaType,omitempty"`
	ArtifactMediaType      string    `json:"artifactMediaType,omitempty"`
	LastRecordedPullTime   EpochTime `json:"lastRecordedPullTime,omitzero"`
	SubjectManifestDigest  string    `json:"subjectManifestDigest,omitempty"`
	ImageStatus            string    `json:"imageStatus,omitempty"`
	LastArchivedAt         EpochTime `json:"lastArchivedAt,omitzero"`  // lifecycleops.go
	LastActivatedAt        EpochTime `json:"lastActivatedAt,omitzero"` // lifecycleops.go

	// scanops.go
	ImageScanStatus          *imageScanStatusJSON          `json:"imageScanStatus,omitempty"`
	ImageScanFindingsSummary *imageScanFindingsSummaryJSON `json:"imageScanFindingsSummary,omitempty"`
}

type describeImagesOutput struct {
	ImageDetails []imageDetail `json:"imageDetails"`
	NextToken    string        `json:"nextToken,omitempty"`
}

func (s *Service) describeImages(ctx context.Context, req *Request) (any, error) {
	var in describeImagesInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	repo := in.RepositoryName
	if len(in.ImageIDs) > 0 {
		return s.describeImageIDs(ctx, repo, in)
	}
	after, _, err := decodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := defaultImagePageSize
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	images, next, err := s.core.ListImages(ctx, repo, after, limit, in.Filter.tagStatus())
	if err != nil {
		return nil, coreError(err)
	}
	states, err := s.core.ImageStates(ctx, repo)
	if err != nil {
		return nil, coreError(err)
	}
	out := &describeImagesOutput{ImageDetails: make([]imageDetail, 0, len(images))}
	for i := range images {
		d := s.imageDetail(repo, &images[i])
		setImageState(&d, states[images[i].Digest])
		if !in.Filter.statusMatches(d.ImageStatus) {
			continue // before the scan lookup, which the image would not need
		}
		if err := s.setImageScan(ctx, &d); err != nil { // scanops.go
			return nil, coreError(err)
		}
		out.ImageDetails = append(out.ImageDetails, d)
	}
	if next != "" {
		out.NextToken = encodePageToken(next, "")
	}
	return out, nil
}

// describeImageIDs describes the listed images: all of them, or an
// ImageNotFoundException for the first missing one.
func (s *Service) describeImageIDs(ctx context.Context, repo string, in describeImagesInput) (any, error) {
	if in.MaxResults != nil {
		return nil, invalidParam("maxResults", "maxResults cannot be specified together with imageIds")
	}
	if in.NextToken != nil {
		return nil, invalidParam("nextToken", "nextToken cannot be specified together with imageIds")
	}
	if _, err := s.core.GetRepository(ctx, repo); err != nil {
		return nil, coreError(err)
	}
	out := &describeImagesOutput{ImageDetails: make([]imageDetail, 0, len(in.ImageIDs))}
	seen := make(map[digest.Digest]bool, len(in.ImageIDs))
	for _, id := range in.ImageIDs {
		rid, err := imageIDParam("imageIds", id)
		if err != nil {
			return nil, err
		}
		img, err := s.core.FindImage(ctx, repo, rid)
		if registry.KindOf(err) == registry.KindManifestUnknown {
			return nil, s.imageNotFound(repo, id)
		}
		if err != nil {
			return nil, coreError(err)
		}
		if seen[img.Digest] {
			continue
		}
		seen[img.Digest] = true
		d := s.imageDetail(repo, img)
		st, err := s.core.ImageState(ctx, repo, img.Digest)
		if err != nil {
			return nil, coreError(err)
		}
		setImageState(&d, st)
		if err := s.setImageScan(ctx, &d); err != nil { // scanops.go
			return nil, coreError(err)
		}
		out.ImageDetails = append(out.ImageDetails, d)
	}
	return out, nil
}

// imageNotFound is ECR's ImageNotFoundException for an image id, which
// spells an absent digest or tag as 'null'.
func (s *Service) imageNotFound(repo string, id imageIdentifier) *APIError {
	return Errorf("ImageNotFoundException",
		"The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
		orNull(id.ImageDigest), orNull(id.ImageTag), repo, s.opts.AccountID)
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// imageDetail renders a stored image as ECR's ImageDetail.
func (s *Service) imageDetail(repo string, img *registry.Image) imageDetail {
	d := imageDetail{
		RegistryID:             s.opts.AccountID,
		RepositoryName:         repo,
		ImageDigest:            img.Digest.String(),
		ImageTags:              img.Tags,
		ImageSizeInBytes:       img.ImageSize,
		ImagePushedAt:          EpochTime(img.PushedAt),
		ImageManifestMediaType: img.MediaType,
		ArtifactMediaType:      configMediaType(img.Content),
		SubjectManifestDigest:  img.Subject.String(),
		ImageStatus:            imageStatusActive,
	}
	if img.LastPulledAt != nil {
		d.LastRecordedPullTime = EpochTime(*img.LastPulledAt)
	}
	return d
}

// configMediaType returns the media type of an image manifest's config (ECR's
// artifactMediaType); indexes have none.
func configMediaType(content []byte) string {
	var m struct {
		Config *struct {
			MediaType string `json:"mediaType"`
		} `json:"config"`
	}
	if json.Unmarshal(content, &m) != nil || m.Config == nil {
		return ""
	}
	return m.Config.MediaType
}

// ---- ListImages ----

type listImagesInput struct {
	RegistryID     *string      `json:"registryId"`
	RepositoryName string       `json:"repositoryName"`
	NextToken      *string      `json:"nextToken"`
	MaxResults     *int32       `json:"maxResults"`
	Filter         *imageFilter `json:"filter"`
}

type listImagesOutput struct {
	ImageIDs  []imageIdentifier `json:"imageIds"`
	NextToken string            `json:"nextToken,omitempty"`
}

// listImages lists one imageId per tag, and untagged images by digest alone.
// maxResults counts imageIds, so a page may end inside an image's tags: the
// token then names the image and the last tag listed.
func (s *Service) listImages(ctx context.Context, req *Request) (any, error) {
	var in listImagesInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	repo := in.RepositoryName
	after, afterTag, err := decodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := defaultImagePageSize
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	out := &listImagesOutput{ImageIDs: []imageIdentifier{}}
	statusOK, err := s.statusFilter(ctx, repo, in.Filter) // lifecycleops.go
	if err != nil {
		return nil, err
	}
	tagStatus := in.Filter.tagStatus()

	// add appends img's ids after afterTag; it reports whether the page
	// filled up, setting the token when more ids remain.
	add := func(img *registry.Image, afterTag string, moreImages bool) bool {
		if len(img.Tags) == 0 {
			out.ImageIDs = append(out.ImageIDs, imageIdentifier{ImageDigest: img.Digest.String()})
		}
		for i, t := range img.Tags {
			if afterTag != "" && t <= afterTag {
				continue
			}
			if len(out.ImageIDs) == limit {
				out.NextToken = encodePageToken(img.Digest, img.Tags[i-1])
				return true
			}
			out.ImageIDs = append(out.ImageIDs, imageIdentifier{ImageDigest: img.Digest.String(), ImageTag: t})
		}
		if len(out.ImageIDs) == limit {
			if moreImages {
				out.NextToken = encodePageToken(img.Digest, "")
			}
			return true
		}
		return false
	}

	if afterTag != "" {
		// Finish the image the previous page ended in. It may have lost its
		// tags or gone since; then continue after it.
		img, err := s.core.FindImage(ctx, repo, registry.ImageID{Digest: after})
		switch {
		case registry.KindOf(err) == registry.KindManifestUnknown:
		case err != nil:
			return nil, coreError(err)
		case tagStatus != registry.TagStatusUntagged && len(img.Tags) > 0 && statusOK(img.Digest):
			if add(img, afterTag, true) {
				return out, nil
			}
		}
	}
	for {
		images, next, err := s.core.ListImages(ctx, repo, after, limit-len(out.ImageIDs), tagStatus)
		if err != nil {
			return nil, coreError(err)
		}
		for i := range images {
			if !statusOK(images[i].Digest) {
				continue
			}
			if add(&images[i], "", i < len(images)-1 || next != "") {
				return out, nil
			}
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// ---- BatchGetImage ----

type batchGetImageInput struct {
	RegistryID         *string           `json:"registryId"`
	RepositoryName     string            `json:"repositoryName"`
	ImageIDs           []imageIdentifier `json:"imageIds"`
	AcceptedMediaTypes []string          `json:"acceptedMediaTypes"`
}

type batchGetImageOutput struct {
	Images   []ecrImage     `json:"images"`
	Failures []imageFailure `json:"failures"`
}

func (s *Service) batchGetImage(ctx context.Context, req *Request) (any, error) {
	var in batchGetImageInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	repo := in.RepositoryName
	out := &batchGetImageOutput{Images: []ecrImage{}}
	failures, err := s.forEachImageID(ctx, in.RegistryID, repo, in.ImageIDs, func(id imageIdentifier, rid registry.ImageID) (*imageFailure, error) {
		img, err := s.core.FindImage(ctx, repo, rid)
		if err != nil {
			return s.imageFailure(ctx, repo, id, rid, err)
		}
		// Berth stores manifests as pushed and never converts them: an image
		// in a media type the client does not accept is not available to it.
		if len(in.AcceptedMediaTypes) > 0 && !slices.Contains(in.AcceptedMediaTypes, img.MediaType) {
			return &imageFailure{ImageID: id, FailureCode: failureImageNotFound,
				FailureReason: fmt.Sprintf("Requested image not found in an accepted media type: the image manifest media type is '%s'", img.MediaType)}, nil
		}
		if err := s.core.CheckPullable(ctx, repo, img.Digest); err != nil {
			if registry.KindOf(err) != registry.KindManifestUnknown {
				return nil, coreError(err)
			}
			return &imageFailure{ImageID: id, FailureCode: failureImageNotFound, FailureReason: err.Error()}, nil
		}
		s.core.RecordPullBy(repo, img.Digest, principalARN(req))
		out.Images = append(out.Images, ecrImage{
			RegistryID:             s.opts.AccountID,
			RepositoryName:         repo,
			ImageID:                imageIdentifier{ImageDigest: img.Digest.String(), ImageTag: id.ImageTag},
			ImageManifest:          string(img.Content),
			ImageManifestMediaType: img.MediaType,
		})
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	out.Failures = failures
	return out, nil
}

// ---- BatchDeleteImage ----

type batchDeleteImageInput struct {
	RegistryID     *string           `json:"registryId"`
	RepositoryName string            `json:"repositoryName"`
	ImageIDs       []imageIdentifier `json:"imageIds"`
}

type batchDeleteImageOutput struct {
	ImageIDs []imageIdentifier `json:"imageIds"`
	Failures []imageFailure    `json:"failures"`
}

// batchDeleteImage deletes each image id with the core's ECR semantics (a
// tag removes the tag, and the image with its last tag; a digest removes the
// image and all its tags). Deleted ids are reported one per removed tag, or by
// digest for an untagged image.
func (s *Service) batchDeleteImage(ctx context.Context, req *Request) (any, error) {
	var in batchDeleteImageInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	repo := in.RepositoryName
	out := &batchDeleteImageOutput{ImageIDs: []imageIdentifier{}}
	failures, err := s.forEachImageID(ctx, in.RegistryID, repo, in.ImageIDs, func(id imageIdentifier, rid registry.ImageID) (*imageFailure, error) {
		// The tags a digest deletion removes are reported as ECR does; read
		// them first (a tag moved concurrently may be reported stale).
		var tags []string
		if rid.Tag == "" {
			if img, err := s.core.FindImage(ctx, repo, rid); err == nil {
				tags = img.Tags
			}
		}
		deleted, err := s.core.DeleteImage(ctx, repo, rid)
		if err != nil {
			return s.imageFailure(ctx, repo, id, rid, err)
		}
		if rid.Tag != "" || len(tags) == 0 {
			out.ImageIDs = append(out.ImageIDs, imageIdentifier{ImageDigest: deleted.Digest.String(), ImageTag: deleted.Tag})
			return nil, nil
		}
		for _, t := range tags {
			out.ImageIDs = append(out.ImageIDs, imageIdentifier{ImageDigest: deleted.Digest.String(), ImageTag: t})
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	out.Failures = failures
	return out, nil
}

// forEachImageID is the frame of ECR's batch image operations. It checks the
// registry id and that the repository exists, then runs op on each
// well-formed image id in request order. The failures it returns (never nil,
// so they encode as []) are the malformed ids' and those op reports, in
// request order; an error op returns concerns the whole request and ends the
// batch.
func (s *Service) forEachImageID(ctx context.Context, registryID *string, repo string, ids []imageIdentifier,
	op func(id imageIdentifier, rid registry.ImageID) (*imageFailure, error)) ([]imageFailure, error) {
	if err := s.checkRegistryID(registryID); err != nil {
		return nil, err
	}
	if _, err := s.core.GetRepository(ctx, repo); err != nil {
		return nil, coreError(err)
	}
	failures := []imageFailure{}
	for _, id := range ids {
		rid, fail := parseImageID(id)
		if fail == nil {
			var err error
			if fail, err = op(id, rid); err != nil {
				return nil, err
			}
		}
		if fail != nil {
			failures = append(failures, *fail)
		}
	}
	return failures, nil
}

// parseImageID checks a requested image id the way ECR's batch operations
// do, returning the failure for a malformed one.
func parseImageID(id imageIdentifier) (registry.ImageID, *imageFailure) {
	var rid registry.ImageID
	if id.ImageDigest == "" && id.ImageTag == "" {
		return rid, &imageFailure{ImageID: id, FailureCode: failureMissingDigestAndTag,
			FailureReason: "Invalid request parameters: both tag and digest cannot be null"}
	}
	if id.ImageDigest != "" {
		d, err := registry.ParseDigest(id.ImageDigest)
		if err != nil {
			return rid, &imageFailure{ImageID: id, FailureCode: failureInvalidImageDigest,
				FailureReason: "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"}
		}
		rid.Digest = d
	}
	if id.ImageTag != "" {
		if err := registry.ValidateTag(id.ImageTag); err != nil {
			return rid, &imageFailure{ImageID: id, FailureCode: failureInvalidImageTag,
				FailureReason: "Invalid request parameters: image tag should satisfy the regex '[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}'"}
		}
		rid.Tag = id.ImageTag
	}
	return rid, nil
}

// imageIDParam checks the image id a non-batch operation names in member,
// failing with InvalidParameterException for a malformed one.
func imageIDParam(member string, id imageIdentifier) (registry.ImageID, error) {
	rid, fail := parseImageID(id)
	if fail != nil {
		return rid, invalidParam(member, fail.FailureReason)
	}
	return rid, nil
}

// imageFailure turns a per-image core error into a batch failure. Errors that
// concern the whole request (the repository is gone, a store failed) are
// returned as errors instead.
func (s *Service) imageFailure(ctx context.Context, repo string, id imageIdentifier, rid registry.ImageID, err error) (*imageFailure, error) {
	e, ok := registry.AsError(err)
	if !ok {
		return nil, err
	}
	switch e.Kind {
	case registry.KindManifestUnknown:
		if rid.Digest != "" && rid.Tag != "" {
			// The tag exists but names another image.
			if _, terr := s.core.FindImage(ctx, repo, registry.ImageID{Tag: rid.Tag}); terr == nil {
				return &imageFailure{ImageID: id, FailureCode: failureImageTagDoesNotMatchDigest,
					FailureReason: "Invalid request parameters: given tag does not map to the given digest"}, nil
			}
		}
		return &imageFailure{ImageID: id, FailureCode: failureImageNotFound, FailureReason: "Requested image not found"}, nil
	case registry.KindReferencedByIndex:
		return &imageFailure{ImageID: id, FailureCode: failureReferencedByManifestList, FailureReason: e.Message}, nil
	case registry.KindDigestInvalid:
		return &imageFailure{ImageID: id, FailureCode: failureInvalidImageDigest, FailureReason: e.Message}, nil
	case registry.KindTagInvalid:
		return &imageFailure{ImageID: id, FailureCode: failureInvalidImageTag, FailureReason: e.Message}, nil
	}
	return nil, coreError(err)
}

// ---- PutImage ----

type putImageInput struct {
	RegistryID             *string `json:"registryId"`
	RepositoryName         string  `json:"repositoryName"`
	ImageManifest          string  `json:"imageManifest"`
	ImageManifestMediaType *string `json:"imageManifestMediaType"`
	ImageTag               *string `json:"imageTag"`
	ImageDigest            *string `json:"imageDigest"`
}

type putImageOutput struct {
	Image ecrImage `json:"image"`
}

func (s *Service) putImage(ctx context.Context, req *Request) (any, error) {
	var in putImageInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	repo, content, tag := in.RepositoryName, []byte(in.ImageManifest), str(in.ImageTag)
	// The manifest is stored under its digest (checked against imageDigest
	// when given) and additionally under the tag.
	reference := digest.SHA256.FromBytes(content).String()
	if in.ImageDigest != nil {
		if _, err := registry.ParseDigest(*in.ImageDigest); err != nil {
			return nil, invalidParam("imageDigest", "must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'")
		}
		reference = *in.ImageDigest
	}
	var tags []string
	if tag != "" {
		if err := registry.ValidateTag(tag); err != nil {
			return nil, invalidParam("imageTag", "must satisfy regular expression '[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}'")
		}
		tags = []string{tag}
	}
	res, err := s.core.PutManifest(ctx, repo, reference, str(in.ImageManifestMediaType), content, tags)
	if err != nil {
		return nil, s.putImageError(repo, in, content, err)
	}
	if !res.Changed {
		return nil, Errorf("ImageAlreadyExistsException",
			"Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'",
			res.Digest, orNull(tag), repo, s.opts.AccountID)
	}
	return &putImageOutput{Image: ecrImage{
		RegistryID:             s.opts.AccountID,
		RepositoryName:         repo,
		ImageID:                imageIdentifier{ImageDigest: res.Digest.String(), ImageTag: tag},
		ImageManifest:          in.ImageManifest,
		ImageManifestMediaType: res.MediaType, // as the core resolved it
	}}, nil
}

// putImageError maps PutManifest's errors to PutImage's exceptions.
func (s *Service) putImageError(repo string, in putImageInput, content []byte, err error) error {
	e, ok := registry.AsError(err)
	if !ok {
		return err
	}
	switch e.Kind {
	case registry.KindManifestBlobUnknown:
		missing := ""
		if d, ok := e.Detail.(map[string]string); ok {
			missing = d["digest"]
		}
		// An index references manifests; an image manifest references layers
		// and its config.
		if isIndexManifest(str(in.ImageManifestMediaType), content) {
			return Errorf("ReferencedImagesNotFoundException",
				"The manifest list is referencing images '[%s]' that do not exist in the repository with name '%s' in the registry with id '%s'",
				missing, repo, s.opts.AccountID)
		}
		return Errorf("LayersNotFoundException",
			"Layers with digests '[%s]' required for pushing image into repository with name '%s' in the registry with id '%s' do not exist",
			missing, repo, s.opts.AccountID)
	case registry.KindDigestInvalid:
		return Errorf("ImageDigestDoesNotMatchException",
			"The specified image digest '%s' does not match the digest '%s' calculated for the image manifest",
			str(in.ImageDigest), digestOf(in.ImageDigest, content))
	case registry.KindUnsupported, registry.KindManifestTooLarge:
		// PutImage models no UnsupportedImageTypeException.
		return invalidParam("imageManifest", e.Message)
	case registry.KindManifestInvalid:
		return invalidParam("imageManifest", e.Message)
	}
	return coreError(err)
}

// digestOf is content's digest in the algorithm of the claimed digest.
func digestOf(claimed *string, content []byte) digest.Digest {
	alg := digest.SHA256
	if claimed != nil {
		if d, err := digest.Parse(*claimed); err == nil {
			alg = d.Algorithm()
		}
	}
	return alg.FromBytes(content)
}

// isIndexManifest reports whether a pushed manifest is an index (OCI image
// index or Docker manifest list), by its declared media type or its shape.
func isIndexManifest(mediaType string, content []byte) bool {
	var m struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	_ = json.Unmarshal(content, &m)
	if mediaType == "" {
		mediaType = m.MediaType
	}
	if mediaType != "" {
		mt, _, _ := strings.Cut(mediaType, ";")
		mt = strings.TrimSpace(mt)
		return mt == registry.MediaTypeOCIIndex || mt == registry.MediaTypeDockerManifestList
	}
	return m.Manifests != nil
}

// ---- ListImageReferrers ----

type listImageReferrersInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName string  `json:"repositoryName"`
	SubjectID      struct {
		ImageDigest string `json:"imageDigest"`
	} `json:"subjectId"`
	Filter *struct {
		ArtifactTypes  []string `json:"artifactTypes"`
		ArtifactStatus *string  `json:"artifactStatus"`
	} `json:"filter"`
	NextToken  *string `json:"nextToken"`
	MaxResults *int32  `json:"maxResults"`
}

// imageReferrer is the model's ImageReferrer.
type imageReferrer struct {
	Digest         string            `json:"digest"`
	MediaType      string            `json:"mediaType"`
	ArtifactType   string            `json:"artifactType,omitempty"`
	Size           int64             `json:"size"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	ArtifactStatus string            `json:"artifactStatus,omitempty"`
}

type listImageReferrersOutput struct {
	Referrers []imageReferrer `json:"referrers"`
	NextToken string          `json:"nextToken,omitempty"`
}

// listImageReferrers lists the manifests whose subject is the given digest,
// ordered by digest, optionally filtered by artifact type.
func (s *Service) listImageReferrers(ctx context.Context, req *Request) (any, error) {
	var in listImageReferrersInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	repo := in.RepositoryName
	subject, err := registry.ParseDigest(in.SubjectID.ImageDigest)
	if err != nil {
		return nil, invalidParam("subjectId.imageDigest", "must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'")
	}
	after, _, err := decodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := defaultReferrerPageSize
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	refs, err := s.core.ListReferrers(ctx, repo, subject, "")
	if err != nil {
		return nil, coreError(err)
	}
	out := &listImageReferrersOutput{Referrers: []imageReferrer{}}
	if in.Filter != nil && in.Filter.ArtifactStatus != nil && !activeStatusMatches(*in.Filter.ArtifactStatus) {
		return out, nil
	}
	slices.SortFunc(refs, func(a, b ocispec.Descriptor) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	for _, r := range refs {
		if after != "" && r.Digest <= after {
			continue
		}
		if in.Filter != nil && len(in.Filter.ArtifactTypes) > 0 && !slices.Contains(in.Filter.ArtifactTypes, r.ArtifactType) {
			continue
		}
		if len(out.Referrers) == limit {
			out.NextToken = encodePageToken(digest.Digest(out.Referrers[limit-1].Digest), "")
			break
		}
		out.Referrers = append(out.Referrers, imageReferrer{
			Digest:         r.Digest.String(),
			MediaType:      r.MediaType,
			ArtifactType:   r.ArtifactType,
			Size:           r.Size,
			Annotations:    r.Annotations,
			ArtifactStatus: imageStatusActive,
		})
	}
	return out, nil
}

// ---- page tokens ----

// encodePageToken makes an opaque nextToken naming the last digest (and, for
// ListImages, the last tag of it) a page ended with.
func encodePageToken(last digest.Digest, tag string) string {
	s := last.String()
	if tag != "" {
		s += " " + tag
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// invalidNextToken is ECR's answer to a nextToken it did not issue.
func invalidNextToken() *APIError {
	return invalidParam("nextToken", "Invalid NextToken")
}

// decodePageToken reads a token made by encodePageToken; nil or empty means
// the first page.
func decodePageToken(token *string) (digest.Digest, string, error) {
	if token == nil || *token == "" {
		return "", "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*token)
	if err != nil {
		return "", "", invalidNextToken()
	}
	ds, tag, _ := strings.Cut(string(b), " ")
	d, err := digest.Parse(ds)
	if err != nil {
		return "", "", invalidNextToken()
	}
	if tag != "" && registry.ValidateTag(tag) != nil {
		return "", "", invalidNextToken()
	}
	return d, tag, nil
}
