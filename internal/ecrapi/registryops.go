package ecrapi

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"
)

// registerRegistryOps registers this file's operations.
func (s *Service) registerRegistryOps(d *Dispatcher) {
	d.Register("DescribeRegistry", s.describeRegistry)
	d.Register("GetAuthorizationToken", s.getAuthorizationToken)
	d.Register("GetAccountSetting", s.getAccountSetting)
	d.Register("PutAccountSetting", s.putAccountSetting)
}

// DescribeRegistry

type replicationRuleJSON struct {
	Destinations []struct {
		Region     string `json:"region"`
		RegistryID string `json:"registryId"`
	} `json:"destinations"`
}

type registryDescription struct {
	RegistryID               string `json:"registryId"`
	ReplicationConfiguration struct {
		Rules []replicationRuleJSON `json:"rules"`
	} `json:"replicationConfiguration"`
}

func (s *Service) describeRegistry(ctx context.Context, req *Request) (any, error) {
	out := registryDescription{RegistryID: s.opts.AccountID}
	// Replication is not configurable yet: no rules.
	out.ReplicationConfiguration.Rules = []replicationRuleJSON{}
	return out, nil
}

// GetAuthorizationToken

type getAuthorizationTokenInput struct {
	RegistryIDs []string `json:"registryIds"`
}

type authorizationDataJSON struct {
	AuthorizationToken string    `json:"authorizationToken"`
	ExpiresAt          EpochTime `json:"expiresAt"`
	ProxyEndpoint      string    `json:"proxyEndpoint"`
}

type getAuthorizationTokenOutput struct {
	AuthorizationData []authorizationDataJSON `json:"authorizationData"`
}

func (s *Service) getAuthorizationToken(ctx context.Context, req *Request) (any, error) {
	var in getAuthorizationTokenInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	for _, id := range in.RegistryIDs {
		if err := s.checkRegistryID(&id); err != nil {
			return nil, err
		}
	}
	if s.opts.Tokens == nil {
		return nil, errors.New("ecrapi: GetAuthorizationToken: no login token minter configured")
	}
	p := req.Principal
	if p == nil {
		return nil, errors.New("ecrapi: GetAuthorizationToken: request has no principal")
	}
	token, expires := s.opts.Tokens.MintLoginToken(*p, p.AccessKeyID, time.Now())
	data := authorizationDataJSON{
		AuthorizationToken: base64.StdEncoding.EncodeToString([]byte("AWS:" + token)),
		ExpiresAt:          EpochTime(expires),
		ProxyEndpoint:      strings.TrimSuffix(s.opts.PublicURL, "/"),
	}
	// ECR answers one entry per requested registry (all of them this one).
	n := max(len(in.RegistryIDs), 1)
	out := getAuthorizationTokenOutput{AuthorizationData: make([]authorizationDataJSON, n)}
	for i := range out.AuthorizationData {
		out.AuthorizationData[i] = data
	}
	return out, nil
}

// GetAccountSetting / PutAccountSetting

type accountSettingInput struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type accountSettingOutput struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (s *Service) getAccountSetting(ctx context.Context, req *Request) (any, error) {
	var in accountSettingInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	v, err := s.core.AccountSetting(ctx, in.Name)
	if err != nil {
		return nil, coreError(err)
	}
	return accountSettingOutput{Name: in.Name, Value: v}, nil
}

func (s *Service) putAccountSetting(ctx context.Context, req *Request) (any, error) {
	var in accountSettingInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.core.PutAccountSetting(ctx, in.Name, in.Value); err != nil {
		return nil, coreError(err)
	}
	return accountSettingOutput{Name: in.Name, Value: in.Value}, nil
}
