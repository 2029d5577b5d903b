package ecrapi

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/berth-registry/berth/internal/registry"
)

// LayerPartSize is the partSize InitiateLayerUpload reports, as ECR does
// (10 MiB). It is advice to the client; parts of any size are accepted.
const LayerPartSize = 10 << 20

// Layer availability and failure codes of the ECR model.
const (
	layerAvailable            = "AVAILABLE"
	layerFailureMissing       = "MissingLayerDigest"
	layerFailureInvalid       = "InvalidLayerDigest"
	layerFailureReasonMissing = "Layer not found in repository"
	layerFailureReasonInvalid = "Invalid layer digest: %s"
)

// registerLayerOps registers this file's operations.
func (s *Service) registerLayerOps(d *Dispatcher) {
	d.Register("InitiateLayerUpload", s.initiateLayerUpload)
	d.Register("UploadLayerPart", s.uploadLayerPart)
	d.Register("CompleteLayerUpload", s.completeLayerUpload)
	d.Register("BatchCheckLayerAvailability", s.batchCheckLayerAvailability)
	d.Register("GetDownloadUrlForLayer", s.getDownloadURLForLayer)
}

// --- InitiateLayerUpload ---

type initiateLayerUploadInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName string  `json:"repositoryName"`
}

type initiateLayerUploadOutput struct {
	UploadID string `json:"uploadId"`
	PartSize int64  `json:"partSize"`
}

func (s *Service) initiateLayerUpload(ctx context.Context, req *Request) (any, error) {
	var in initiateLayerUploadInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	st, err := s.core.StartUpload(ctx, in.RepositoryName)
	if err != nil {
		return nil, coreError(err)
	}
	return &initiateLayerUploadOutput{UploadID: st.ID, PartSize: LayerPartSize}, nil
}

// --- UploadLayerPart ---

type uploadLayerPartInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName string  `json:"repositoryName"`
	UploadID       string  `json:"uploadId"`
	PartFirstByte  *int64  `json:"partFirstByte"`
	PartLastByte   *int64  `json:"partLastByte"`
	// LayerPartBlob is base64 on the wire; encoding/json decodes it.
	LayerPartBlob []byte `json:"layerPartBlob"`
}

type uploadLayerPartOutput struct {
	RegistryID       string `json:"registryId"`
	RepositoryName   string `json:"repositoryName"`
	UploadID         string `json:"uploadId"`
	LastByteReceived int64  `json:"lastByteReceived"`
}

func (s *Service) uploadLayerPart(ctx context.Context, req *Request) (any, error) {
	var in uploadLayerPartInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	// The model requires both bytes; the validator has enforced that.
	first, last := partByte(in.PartFirstByte), partByte(in.PartLastByte)
	if last < first || int64(len(in.LayerPartBlob)) != last-first+1 {
		st, err := s.core.GetUpload(ctx, in.RepositoryName, in.UploadID)
		if err != nil {
			return nil, s.uploadError(ctx, in.RepositoryName, in.UploadID, err)
		}
		return nil, s.invalidLayerPart(in.RepositoryName, in.UploadID, st.Offset,
			"The layer part size is not valid: the part from byte %d to byte %d holds %d bytes", first, last, len(in.LayerPartBlob))
	}
	st, err := s.core.AppendUpload(ctx, in.RepositoryName, in.UploadID, first, bytes.NewReader(in.LayerPartBlob))
	if err != nil {
		switch registry.KindOf(err) {
		case registry.KindRangeInvalid:
			return nil, s.invalidLayerPart(in.RepositoryName, in.UploadID, st.Offset,
				"The first byte %d of the layer part is not consecutive to the last byte %d received", first, st.Offset-1)
		case registry.KindBlobUploadInvalid:
			e, _ := registry.AsError(err)
			return nil, s.invalidLayerPart(in.RepositoryName, in.UploadID, st.Offset, "%s", e.Message)
		}
		return nil, s.uploadError(ctx, in.RepositoryName, in.UploadID, err)
	}
	return &uploadLayerPartOutput{
		RegistryID: s.opts.AccountID, RepositoryName: in.RepositoryName,
		UploadID: in.UploadID, LastByteReceived: st.Offset - 1,
	}, nil
}

// invalidLayerPart is InvalidLayerPartException with its modeled members;
// lastValidByteReceived is -1 while the upload holds no bytes.
func (s *Service) invalidLayerPart(repo, id string, offset int64, format string, args ...any) *APIError {
	e := Errorf("InvalidLayerPartException", format, args...)
	e.Fields = map[string]any{
		"registryId":            s.opts.AccountID,
		"repositoryName":        repo,
		"uploadId":              id,
		"lastValidByteReceived": offset - 1,
	}
	return e
}

// uploadError maps a failed upload lookup: a missing repository is reported
// as such (checked only on this miss path), any other unknown upload as
// UploadNotFoundException.
func (s *Service) uploadError(ctx context.Context, repo, id string, err error) error {
	if registry.KindOf(err) != registry.KindBlobUploadUnknown {
		return coreError(err)
	}
	if _, rerr := s.core.GetRepository(ctx, repo); rerr != nil {
		return coreError(rerr)
	}
	return Errorf("UploadNotFoundException", "Upload with id '%s' does not exist within the repository with name '%s' in the registry with id '%s'", id, repo, s.opts.AccountID)
}

// --- CompleteLayerUpload ---

type completeLayerUploadInput struct {
	RegistryID     *string  `json:"registryId"`
	RepositoryName string   `json:"repositoryName"`
	UploadID       string   `json:"uploadId"`
	LayerDigests   []string `json:"layerDigests"`
}

type completeLayerUploadOutput struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	UploadID       string `json:"uploadId"`
	LayerDigest    string `json:"layerDigest"`
}

func (s *Service) completeLayerUpload(ctx context.Context, req *Request) (any, error) {
	var in completeLayerUploadInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	repo, id := in.RepositoryName, in.UploadID
	st, err := s.core.GetUpload(ctx, repo, id)
	if err != nil {
		return nil, s.uploadError(ctx, repo, id, err)
	}
	if st.Offset == 0 {
		return nil, Errorf("EmptyUploadException", "The layer upload with id '%s' does not contain any layer parts", id)
	}
	raw := in.LayerDigests[0] // the validator has enforced the model's minimum of one
	dgst, err := registry.ParseDigest(raw)
	if err != nil {
		return nil, Errorf("InvalidLayerException", "The layer digest %s does not match the digest calculated for the uploaded layer", raw)
	}
	switch _, err := s.core.StatBlob(ctx, repo, dgst); {
	case err == nil:
		// ECR refuses to complete an upload of a layer the repository already
		// holds; the session is of no further use.
		if cerr := s.core.CancelUpload(ctx, repo, id); cerr != nil && registry.KindOf(cerr) != registry.KindBlobUploadUnknown {
			s.log.WarnContext(ctx, "cancel upload of existing layer", "repository", repo, "upload", id, "error", cerr)
		}
		return nil, Errorf("LayerAlreadyExistsException", "The layer with digest %s already exists in the repository with name '%s' in the registry with id '%s'", dgst, repo, s.opts.AccountID)
	case registry.KindOf(err) != registry.KindBlobUnknown:
		return nil, coreError(err)
	}
	info, err := s.core.CompleteUpload(ctx, repo, id, -1, nil, dgst)
	if err != nil {
		if registry.KindOf(err) == registry.KindDigestInvalid {
			return nil, Errorf("InvalidLayerException", "The layer digest %s does not match the digest calculated for the uploaded layer", dgst)
		}
		return nil, s.uploadError(ctx, repo, id, err)
	}
	return &completeLayerUploadOutput{
		RegistryID: s.opts.AccountID, RepositoryName: repo, UploadID: id, LayerDigest: info.Digest.String(),
	}, nil
}

// --- BatchCheckLayerAvailability ---

type batchCheckLayerAvailabilityInput struct {
	RegistryID     *string  `json:"registryId"`
	RepositoryName string   `json:"repositoryName"`
	LayerDigests   []string `json:"layerDigests"`
}

type layerOut struct {
	LayerDigest       string `json:"layerDigest,omitempty"`
	LayerAvailability string `json:"layerAvailability,omitempty"`
	LayerSize         int64  `json:"layerSize"`
	MediaType         string `json:"mediaType,omitempty"`
}

type layerFailureOut struct {
	LayerDigest   string `json:"layerDigest"`
	FailureCode   string `json:"failureCode"`
	FailureReason string `json:"failureReason"`
}

type batchCheckLayerAvailabilityOutput struct {
	Layers   []layerOut        `json:"layers"`
	Failures []layerFailureOut `json:"failures"`
}

func (s *Service) batchCheckLayerAvailability(ctx context.Context, req *Request) (any, error) {
	var in batchCheckLayerAvailabilityInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	if _, err := s.core.GetRepository(ctx, in.RepositoryName); err != nil {
		return nil, coreError(err)
	}
	out := &batchCheckLayerAvailabilityOutput{Layers: []layerOut{}, Failures: []layerFailureOut{}}
	for _, raw := range in.LayerDigests {
		dgst, err := registry.ParseDigest(raw)
		if err != nil {
			out.Failures = append(out.Failures, layerFailureOut{LayerDigest: raw, FailureCode: layerFailureInvalid,
				FailureReason: fmt.Sprintf(layerFailureReasonInvalid, raw)})
			continue
		}
		info, err := s.core.StatBlob(ctx, in.RepositoryName, dgst)
		switch {
		case err == nil:
			out.Layers = append(out.Layers, layerOut{LayerDigest: raw, LayerAvailability: layerAvailable, LayerSize: info.Size})
		case registry.KindOf(err) == registry.KindBlobUnknown:
			out.Failures = append(out.Failures, layerFailureOut{LayerDigest: raw, FailureCode: layerFailureMissing,
				FailureReason: layerFailureReasonMissing})
		default:
			return nil, coreError(err)
		}
	}
	return out, nil
}

// --- GetDownloadUrlForLayer ---

type getDownloadURLForLayerInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName string  `json:"repositoryName"`
	LayerDigest    string  `json:"layerDigest"`
}

type getDownloadURLForLayerOutput struct {
	DownloadURL string `json:"downloadUrl"`
	LayerDigest string `json:"layerDigest"`
}

func (s *Service) getDownloadURLForLayer(ctx context.Context, req *Request) (any, error) {
	var in getDownloadURLForLayerInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	dgst, err := registry.ParseDigest(in.LayerDigest)
	if err != nil {
		return nil, invalidParam("layerDigest", "Member must be a valid layer digest")
	}
	if _, err := s.core.StatBlob(ctx, in.RepositoryName, dgst); err != nil {
		if registry.KindOf(err) == registry.KindBlobUnknown {
			// Real ECR answers a layer missing from the repository with
			// LayersNotFoundException and this wording. (LayerInaccessible
			// is for layers no image references, which the core does not track.)
			return nil, Errorf("LayersNotFoundException", "The layer with digest %s does not exist within the repository with name '%s' in the registry with id '%s'", dgst, in.RepositoryName, s.opts.AccountID)
		}
		return nil, coreError(err)
	}
	return &getDownloadURLForLayerOutput{
		DownloadURL: s.downloadURL(in.RepositoryName, dgst, time.Now()),
		LayerDigest: dgst.String(),
	}, nil
}

func partByte(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
