package ecrapi

// Repository and registry policies, and the authorization of every ECR
// operation: each checks "ecr:<Operation>" on the repository its input names
// (or "*" for registry-level operations) with internal/authz.

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/berth-registry/berth/internal/authz"
	"github.com/berth-registry/berth/internal/registry"
)

// registerPolicyOps registers this file's operations and, when an
// authorizer is configured, the dispatcher's authorization hook.
func (s *Service) registerPolicyOps(d *Dispatcher) {
	d.Register("SetRepositoryPolicy", s.setRepositoryPolicy)
	d.Register("GetRepositoryPolicy", s.getRepositoryPolicy)
	d.Register("DeleteRepositoryPolicy", s.deleteRepositoryPolicy)
	d.Register("PutRegistryPolicy", s.putRegistryPolicy)
	d.Register("GetRegistryPolicy", s.getRegistryPolicy)
	d.Register("DeleteRegistryPolicy", s.deleteRegistryPolicy)
	if s.opts.Authorizer != nil {
		d.authorize = s.authorizeRequest
	}
}

// authTarget is a resource an operation acts on.
type authTarget struct {
	repo string // "" when the resource is not one of this registry's repositories
	arn  string // the resource ARN, or "*"
}

// authTargets returns the resources an operation's validated input names:
// the repository of repositoryName, each of repositoryNames, the
// resourceArn, or "*" for registry-level operations.
func (s *Service) authTargets(params map[string]any) []authTarget {
	if name, ok := params["repositoryName"].(string); ok && name != "" {
		return []authTarget{{repo: name, arn: s.repositoryARN(name)}}
	}
	if names, ok := params["repositoryNames"].([]any); ok && len(names) > 0 {
		out := make([]authTarget, 0, len(names))
		for _, n := range names {
			if name, ok := n.(string); ok && name != "" {
				out = append(out, authTarget{repo: name, arn: s.repositoryARN(name)})
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	if arn, ok := params["resourceArn"].(string); ok && arn != "" {
		name, _ := strings.CutPrefix(arn, s.repositoryARN(""))
		if name == arn {
			name = ""
		}
		return []authTarget{{repo: name, arn: arn}}
	}
	return []authTarget{{arn: "*"}}
}

// authorizeRequest is the dispatcher's authorization hook.
func (s *Service) authorizeRequest(ctx context.Context, req *Request) error {
	c := authz.Check{Principal: req.Principal, Action: "ecr:" + req.Operation, RequestID: req.RequestID}
	if req.HTTP != nil {
		c.SourceIP, c.SecureTransport = authz.RequestSource(req.HTTP)
	}
	c.Context = requestTags(req.Params)
	for _, t := range s.authTargets(req.Params) {
		c.Resource, c.Repository = t.arn, t.repo
		if err := s.opts.Authorizer.Authorize(ctx, c); err != nil {
			return accessDenied(err)
		}
	}
	return nil
}

// requestTags returns the aws:RequestTag/<key> and aws:TagKeys condition
// keys of an input's tags (CreateRepository, TagResource) or tagKeys
// (UntagResource); nil when it has none.
func requestTags(params map[string]any) map[string][]string {
	var ctx map[string][]string
	addKey := func(k string) {
		if ctx == nil {
			ctx = map[string][]string{}
		}
		ctx["aws:tagkeys"] = append(ctx["aws:tagkeys"], k)
	}
	if tags, ok := params["tags"].([]any); ok {
		for _, t := range tags {
			m, _ := t.(map[string]any)
			k, _ := m["Key"].(string)
			v, _ := m["Value"].(string)
			if k == "" {
				continue
			}
			addKey(k)
			ctx["aws:requesttag/"+strings.ToLower(k)] = []string{v}
		}
	}
	if keys, ok := params["tagKeys"].([]any); ok {
		for _, k := range keys {
			if k, ok := k.(string); ok && k != "" {
				addKey(k)
			}
		}
	}
	return ctx
}

// accessDenied maps an authorizer denial to ECR's AccessDeniedException;
// other errors pass through (a logged ServerException, never a pass).
func accessDenied(err error) error {
	var d *authz.DeniedError
	if errors.As(err, &d) {
		return &APIError{Code: "AccessDeniedException", Status: http.StatusBadRequest, Message: d.Message}
	}
	return err
}

// lockoutConstraint refuses, without force, a repository policy that would
// deny the caller further SetRepositoryPolicy calls.
const lockoutConstraint = "The repository policy would prevent the caller from performing ecr:SetRepositoryPolicy on the repository; set force to apply it anyway"

type repositoryPolicyInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName string  `json:"repositoryName"`
	PolicyText     string  `json:"policyText"`
	Force          bool    `json:"force"`
}

type repositoryPolicyOutput struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	PolicyText     string `json:"policyText,omitempty"`
}

type registryPolicyInput struct {
	PolicyText string `json:"policyText"`
}

type registryPolicyOutput struct {
	RegistryID string `json:"registryId"`
	PolicyText string `json:"policyText,omitempty"`
}

func (s *Service) decodeRepositoryPolicy(req *Request) (repositoryPolicyInput, error) {
	var in repositoryPolicyInput
	if err := req.Decode(&in); err != nil {
		return in, err
	}
	return in, s.checkRegistryID(in.RegistryID)
}

func (s *Service) setRepositoryPolicy(ctx context.Context, req *Request) (any, error) {
	in, err := s.decodeRepositoryPolicy(req)
	if err != nil {
		return nil, err
	}
	pol, err := registry.ParseRepositoryPolicy(in.PolicyText)
	if err != nil {
		return nil, coreError(err)
	}
	if _, err := s.core.GetRepository(ctx, in.RepositoryName); err != nil {
		return nil, coreError(err)
	}
	if !in.Force && s.opts.Authorizer != nil {
		// ECR's lockout check: the new policy must still let the caller set
		// the repository's policy.
		d, err := s.opts.Authorizer.Decide(ctx, authz.Check{
			Principal: req.Principal, Action: "ecr:SetRepositoryPolicy",
			Resource: s.repositoryARN(in.RepositoryName), Repository: in.RepositoryName, RequestID: req.RequestID,
		}, pol)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			return nil, invalidParam("PolicyText", lockoutConstraint)
		}
	}
	if _, err := s.core.SetRepositoryPolicy(ctx, in.RepositoryName, in.PolicyText); err != nil {
		return nil, coreError(err)
	}
	if s.opts.Authorizer != nil {
		s.opts.Authorizer.ForgetRepository(in.RepositoryName)
	}
	return repositoryPolicyOutput{RegistryID: s.opts.AccountID, RepositoryName: in.RepositoryName, PolicyText: in.PolicyText}, nil
}

func (s *Service) repositoryPolicyNotFound(name string) error {
	return Errorf("RepositoryPolicyNotFoundException",
		"Repository policy does not exist for the repository with name '%s' in the registry with id '%s'", name, s.opts.AccountID)
}

func (s *Service) getRepositoryPolicy(ctx context.Context, req *Request) (any, error) {
	in, err := s.decodeRepositoryPolicy(req)
	if err != nil {
		return nil, err
	}
	text, err := s.core.GetRepositoryPolicy(ctx, in.RepositoryName)
	if err != nil {
		return nil, coreError(err)
	}
	if text == "" {
		return nil, s.repositoryPolicyNotFound(in.RepositoryName)
	}
	return repositoryPolicyOutput{RegistryID: s.opts.AccountID, RepositoryName: in.RepositoryName, PolicyText: text}, nil
}

func (s *Service) deleteRepositoryPolicy(ctx context.Context, req *Request) (any, error) {
	in, err := s.decodeRepositoryPolicy(req)
	if err != nil {
		return nil, err
	}
	old, err := s.core.DeleteRepositoryPolicy(ctx, in.RepositoryName)
	if err != nil {
		return nil, coreError(err)
	}
	if old == "" {
		return nil, s.repositoryPolicyNotFound(in.RepositoryName)
	}
	if s.opts.Authorizer != nil {
		s.opts.Authorizer.ForgetRepository(in.RepositoryName)
	}
	return repositoryPolicyOutput{RegistryID: s.opts.AccountID, RepositoryName: in.RepositoryName, PolicyText: old}, nil
}

func (s *Service) registryPolicyNotFound() error {
	return Errorf("RegistryPolicyNotFoundException", "Registry policy does not exist in the registry with id '%s'", s.opts.AccountID)
}

func (s *Service) putRegistryPolicy(ctx context.Context, req *Request) (any, error) {
	var in registryPolicyInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.core.PutRegistryPolicy(ctx, in.PolicyText); err != nil {
		return nil, coreError(err)
	}
	if s.opts.Authorizer != nil {
		s.opts.Authorizer.ForgetRegistry()
	}
	return registryPolicyOutput{RegistryID: s.opts.AccountID, PolicyText: in.PolicyText}, nil
}

func (s *Service) getRegistryPolicy(ctx context.Context, req *Request) (any, error) {
	text, err := s.core.GetRegistryPolicy(ctx)
	if err != nil {
		return nil, coreError(err)
	}
	if text == "" {
		return nil, s.registryPolicyNotFound()
	}
	return registryPolicyOutput{RegistryID: s.opts.AccountID, PolicyText: text}, nil
}

func (s *Service) deleteRegistryPolicy(ctx context.Context, req *Request) (any, error) {
	old, err := s.core.DeleteRegistryPolicy(ctx)
	if err != nil {
		return nil, coreError(err)
	}
	if old == "" {
		return nil, s.registryPolicyNotFound()
	}
	if s.opts.Authorizer != nil {
		s.opts.Authorizer.ForgetRegistry()
	}
	return registryPolicyOutput{RegistryID: s.opts.AccountID, PolicyText: old}, nil
}
