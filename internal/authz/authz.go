// Package authz decides whether an authenticated principal may perform an
// ECR action on a resource, with IAM's logic (internal/policy) over the
// principal's identity policies, the repository policy and the registry
// policy, and writes the audit trail of decisions.
//
// Both API adapters use it: the ECR JSON dispatcher checks "ecr:<Operation>"
// on the repository ARN (or "*"), the /v2 adapter checks the actions ECR
// checks for a pull, push, delete or catalog request (v2.go).
//
// Parsed policies are cached: identity policies per principal, the
// repository policy per repository and the registry policy, each for TTL.
// Writes through this node call the Forget methods so a change applies here
// at once; other nodes see it within TTL. No policy is parsed per request.
package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/policy"
	"github.com/berth-registry/berth/internal/registry"
)

// DefaultTTL is how long cached policies are trusted: the longest a policy
// change made through another node takes to apply here.
const DefaultTTL = 5 * time.Second

// maxCachedEntries bounds each cache; past it the cache is emptied.
const maxCachedEntries = 10000

// PolicySource returns the identity policy documents of a principal: user
// inline, group inline and attached managed policies (none for root).
// *identity.Identity implements it.
type PolicySource interface {
	PoliciesFor(ctx context.Context, p *auth.Principal) ([]string, error)
}

// ResourcePolicies returns repositories (their policy text and resource
// tags) and the registry policy text ("" for none). *registry.Registry
// implements it.
type ResourcePolicies interface {
	GetRepository(ctx context.Context, name string) (*registry.Repository, error)
	GetRegistryPolicy(ctx context.Context) (string, error)
}

// Config configures an Authorizer.
type Config struct {
	// Identities supplies identity policies; nil means none (only root and
	// resource-policy grants allow).
	Identities PolicySource
	// Resources supplies repository and registry policies; nil means none.
	Resources ResourcePolicies
	// TTL bounds how long parsed policies are cached; 0 means DefaultTTL.
	TTL time.Duration
	// Logger receives audit lines (Audit) and internal failures.
	Logger *slog.Logger
	// Sink, when set, receives every audit event instead of the default
	// structured log line.
	Sink AuditSink
	// CreateOnPush says a /v2 push creates a missing repository; such a
	// push then needs ecr:CreateRepository too.
	CreateOnPush bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Authorizer decides requests. It is safe for concurrent use.
type Authorizer struct {
	cfg Config
	log *slog.Logger

	mu         sync.Mutex
	identities map[string]cached // by principal ARN
	repos      map[string]cached // by repository name
	registry   cached
}

type cached struct {
	policies []*policy.Policy
	// tags are a repository's resource tags as condition keys
	// (ecr:ResourceTag/<key>, aws:ResourceTag/<key>, lower-cased).
	tags    map[string][]string
	exists  bool // the repository exists
	expires time.Time
}

// New returns an Authorizer.
func New(cfg Config) *Authorizer {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Authorizer{cfg: cfg, log: cfg.Logger, identities: map[string]cached{}, repos: map[string]cached{}}
}

// Check is one authorization question.
type Check struct {
	Principal *auth.Principal
	// Action is "ecr:<Operation>".
	Action string
	// Resource is the repository ARN, or "*" for registry-level actions.
	Resource string
	// Repository is the repository the resource names ("" for "*"): its
	// repository policy applies.
	Repository string
	// RequestID, SourceIP and SecureTransport describe the request.
	RequestID       string
	SourceIP        net.IP
	SecureTransport bool
	// Context holds request condition keys (aws:RequestTag/<key>,
	// aws:TagKeys), lower-cased; the repository's resource tags are added.
	Context map[string][]string
}

// DeniedError is a denial. Message is AWS's AccessDenied wording.
type DeniedError struct {
	Action, Resource string
	Decision         policy.Decision
	Message          string
}

func (e *DeniedError) Error() string { return "AccessDenied: " + e.Message }

// IsDenied reports whether err is a denial (not an internal failure).
func IsDenied(err error) bool {
	var d *DeniedError
	return errors.As(err, &d)
}

// Authorize decides c, audits the decision as the audit rules say, and
// returns nil (allowed), a *DeniedError, or an internal error (the policies
// could not be read: never a pass).
func (a *Authorizer) Authorize(ctx context.Context, c Check) error {
	return a.authorizeAny(ctx, c, []string{c.Action})
}

// authorizeAny allows c when any of actions is allowed (c.Action is
// ignored); a denial names the first action.
func (a *Authorizer) authorizeAny(ctx context.Context, c Check, actions []string) error {
	var first policy.Decision
	for i, action := range actions {
		c.Action = action
		d, err := a.Decide(ctx, c, nil)
		if err != nil {
			return err
		}
		if d.Allowed {
			if Mutating(action) {
				a.Audit(ctx, eventFor(c, "Allow", d.Reason.String()))
			}
			return nil
		}
		if i == 0 {
			first = d
		}
	}
	c.Action = actions[0]
	req := a.request(c)
	a.Audit(ctx, eventFor(c, "Deny", first.Reason.String()))
	return &DeniedError{Action: c.Action, Resource: c.Resource, Decision: first, Message: first.Message(&req)}
}

// Decide evaluates c without auditing. repoPolicy, when non-nil, replaces
// the stored repository policy (SetRepositoryPolicy's lockout check asks
// what the new policy would decide).
func (a *Authorizer) Decide(ctx context.Context, c Check, repoPolicy *policy.Policy) (policy.Decision, error) {
	if c.Principal == nil {
		return policy.Decision{}, errors.New("authz: request has no principal")
	}
	var identity []*policy.Policy
	if !c.Principal.IsRoot {
		var err error
		if identity, err = a.identityPolicies(ctx, c.Principal); err != nil {
			return policy.Decision{}, err
		}
	}
	resource := make([]*policy.Policy, 0, 2)
	if strings.HasPrefix(c.Action, "ecr:") {
		// The registry policy governs ECR actions only (never iam:*).
		reg, err := a.registryPolicy(ctx)
		if err != nil {
			return policy.Decision{}, err
		}
		resource = append(resource, reg...)
	}
	if repoPolicy != nil {
		resource = append(resource, repoPolicy)
	}
	req := a.request(c)
	if c.Repository != "" {
		repo, err := a.repository(ctx, c.Repository)
		if err != nil {
			return policy.Decision{}, err
		}
		if repoPolicy == nil {
			resource = append(resource, repo.policies...)
		}
		req.Context = mergeContext(repo.tags, c.Context)
	}
	return policy.Evaluate(req, identity, resource), nil
}

func (a *Authorizer) request(c Check) policy.Request {
	p := c.Principal
	return policy.Request{
		Principal: policy.Principal{ARN: p.ARN, AccountID: p.AccountID, UserName: p.UserName, UserID: p.UserID, IsRoot: p.IsRoot},
		Action:    c.Action, Resource: c.Resource,
		Now: a.cfg.Now(), SourceIP: c.SourceIP, SecureTransport: c.SecureTransport, Context: c.Context,
	}
}

// ForgetRepository drops the cached policy of a repository (after a change
// through this node).
func (a *Authorizer) ForgetRepository(name string) {
	a.mu.Lock()
	delete(a.repos, name)
	a.mu.Unlock()
}

// ForgetRegistry drops the cached registry policy.
func (a *Authorizer) ForgetRegistry() {
	a.mu.Lock()
	a.registry = cached{}
	a.mu.Unlock()
}

// ForgetPrincipals drops every cached identity policy (after an IAM change
// through this node).
func (a *Authorizer) ForgetPrincipals() {
	a.mu.Lock()
	clear(a.identities)
	a.mu.Unlock()
}

func (a *Authorizer) lookup(m map[string]cached, key string, now time.Time) (cached, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := m[key]
	if !ok || !now.Before(e.expires) {
		return cached{}, false
	}
	return e, true
}

func (a *Authorizer) store(m map[string]cached, key string, e cached, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(m) >= maxCachedEntries {
		clear(m)
	}
	e.expires = now.Add(a.cfg.TTL)
	m[key] = e
}

// mergeContext returns the condition keys of a and b, allocating only when
// both have some.
func mergeContext(a, b map[string][]string) map[string][]string {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	m := make(map[string][]string, len(a)+len(b))
	maps.Copy(m, a)
	maps.Copy(m, b)
	return m
}

func (a *Authorizer) identityPolicies(ctx context.Context, p *auth.Principal) ([]*policy.Policy, error) {
	now := a.cfg.Now()
	if e, ok := a.lookup(a.identities, p.ARN, now); ok {
		return e.policies, nil
	}
	if a.cfg.Identities == nil {
		return nil, nil
	}
	docs, err := a.cfg.Identities.PoliciesFor(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("authz: identity policies of %s: %w", p.ARN, err)
	}
	ps := make([]*policy.Policy, 0, len(docs))
	for _, doc := range docs {
		pol, err := policy.ParseIdentityPolicy(doc, policy.WithSizeLimit(policy.MaxDocumentBytes, false))
		if err != nil {
			// Validated on write; a stored policy that no longer parses must
			// not be skipped (it could hold a Deny): fail closed.
			return nil, fmt.Errorf("authz: stored identity policy of %s: %w", p.ARN, err)
		}
		ps = append(ps, pol)
	}
	a.store(a.identities, p.ARN, cached{policies: ps}, now)
	return ps, nil
}

func (a *Authorizer) repository(ctx context.Context, name string) (cached, error) {
	now := a.cfg.Now()
	if e, ok := a.lookup(a.repos, name, now); ok {
		return e, nil
	}
	if a.cfg.Resources == nil {
		return cached{}, nil
	}
	var e cached
	repo, err := a.cfg.Resources.GetRepository(ctx, name)
	switch k := registry.KindOf(err); {
	case err == nil:
		e.exists = true
		if repo.RepositoryPolicy != "" {
			pol, err := registry.ParseRepositoryPolicy(repo.RepositoryPolicy)
			if err != nil {
				return cached{}, fmt.Errorf("authz: stored policy of repository %s: %w", name, err)
			}
			e.policies = []*policy.Policy{pol}
		}
		if len(repo.Tags) > 0 {
			e.tags = make(map[string][]string, 2*len(repo.Tags))
			for _, t := range repo.Tags {
				k := strings.ToLower(t.Key)
				e.tags["ecr:resourcetag/"+k] = []string{t.Value}
				e.tags["aws:resourcetag/"+k] = []string{t.Value}
			}
		}
	case k == registry.KindNameUnknown || k == registry.KindNameInvalid:
		// No repository, no policy; the operation reports it.
	default:
		return cached{}, fmt.Errorf("authz: repository %s: %w", name, err)
	}
	a.store(a.repos, name, e, now)
	return e, nil
}

func (a *Authorizer) registryPolicy(ctx context.Context) ([]*policy.Policy, error) {
	now := a.cfg.Now()
	a.mu.Lock()
	e := a.registry
	a.mu.Unlock()
	if now.Before(e.expires) {
		return e.policies, nil
	}
	if a.cfg.Resources == nil {
		return nil, nil
	}
	text, err := a.cfg.Resources.GetRegistryPolicy(ctx)
	if err != nil {
		return nil, fmt.Errorf("authz: registry policy: %w", err)
	}
	var ps []*policy.Policy
	if text != "" {
		pol, err := registry.ParseRegistryPolicy(text)
		if err != nil {
			return nil, fmt.Errorf("authz: stored registry policy: %w", err)
		}
		ps = []*policy.Policy{pol}
	}
	a.mu.Lock()
	a.registry = cached{policies: ps, expires: now.Add(a.cfg.TTL)}
	a.mu.Unlock()
	return ps, nil
}
