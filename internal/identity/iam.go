package identity

// IAM users, groups, access keys and policies: the rules of the IAM subset
// Berth serves. The iamapi package translates the Query protocol to these
// calls and IAMError codes back to IAM's XML errors.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/policy"
)

// IAM error codes, as IAM names them on the wire.
const (
	CodeNoSuchEntity            = "NoSuchEntity"
	CodeEntityAlreadyExists     = "EntityAlreadyExists"
	CodeDeleteConflict          = "DeleteConflict"
	CodeLimitExceeded           = "LimitExceeded"
	CodeValidationError         = "ValidationError"
	CodeInvalidInput            = "InvalidInput"
	CodeMalformedPolicyDocument = "MalformedPolicyDocument"
)

// IAMError is a client error of an IAM operation: Code is IAM's error code
// and Message its wording.
type IAMError struct {
	Code    string
	Message string
}

func (e *IAMError) Error() string { return e.Code + ": " + e.Message }

func iamErr(code, format string, args ...any) *IAMError {
	return &IAMError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// MaxAccessKeysPerUser is IAM's quota.
const MaxAccessKeysPerUser = 2

// Identifier prefixes, as AWS's unique ids.
const (
	prefixAccessKey = "AKIA"
	prefixUser      = "AIDA"
	prefixGroup     = "AGPA"
)

// User is an IAM user as the API reports it.
type User struct {
	meta.IAMUser
	ARN string
}

// Group is an IAM group as the API reports it.
type Group struct {
	meta.IAMGroup
	ARN string
}

// NewAccessKey is a key just created: the only time its secret is shown.
type NewAccessKey struct {
	meta.IAMAccessKey
	Secret string
}

// UserARN returns arn:aws:iam::<account>:user<path><name>.
func (id *Identity) UserARN(path, name string) string {
	return "arn:aws:iam::" + id.accountID + ":user" + path + name
}

// GroupARN returns arn:aws:iam::<account>:group<path><name>.
func (id *Identity) GroupARN(path, name string) string {
	return "arn:aws:iam::" + id.accountID + ":group" + path + name
}

func (id *Identity) user(u *meta.IAMUser) *User {
	return &User{IAMUser: *u, ARN: id.UserARN(u.Path, u.Name)}
}

// principal is the auth principal of an IAM user.
func (id *Identity) principal(u *meta.IAMUser) auth.Principal {
	return auth.Principal{ARN: id.UserARN(u.Path, u.Name), UserName: u.Name, UserID: u.UserID, AccountID: id.accountID}
}

// lookupUserKey finds an IAM user's access key and opens its secret.
func (id *Identity) lookupUserKey(ctx context.Context, keyID string) (auth.AccessKey, error) {
	if id.store == nil || !strings.HasPrefix(keyID, prefixAccessKey) || len(keyID) > 128 {
		return auth.AccessKey{}, fmt.Errorf("access key %q: %w", keyID, auth.ErrKeyNotFound)
	}
	k, err := id.store.GetIAMAccessKey(ctx, keyID)
	if errors.Is(err, meta.ErrNotFound) {
		return auth.AccessKey{}, fmt.Errorf("access key %q: %w", keyID, auth.ErrKeyNotFound)
	}
	if err != nil {
		return auth.AccessKey{}, fmt.Errorf("identity: look up access key: %w", err)
	}
	u, err := id.store.GetIAMUser(ctx, k.UserName)
	if errors.Is(err, meta.ErrNotFound) { // deleted in between
		return auth.AccessKey{}, fmt.Errorf("access key %q: %w", keyID, auth.ErrKeyNotFound)
	}
	if err != nil {
		return auth.AccessKey{}, fmt.Errorf("identity: look up access key owner: %w", err)
	}
	secret, err := id.sealer.Open(k.SealedSecret)
	if err != nil {
		return auth.AccessKey{}, fmt.Errorf("identity: open secret of access key %s: %w", keyID, err)
	}
	return auth.AccessKey{ID: k.ID, Secret: string(secret), Status: auth.KeyStatus(k.Status), Owner: id.principal(u)}, nil
}

// forget drops a key from this node's login-token cache so a change to it
// takes effect here at once. Other nodes see it within auth.DefaultKeyCacheTTL
// (30 s): their cached copy of the key ages out.
func (id *Identity) forget(keyID string) {
	if id.tokens != nil {
		id.tokens.Forget(keyID)
	}
}

// Validation, with IAM's constraint messages.

func validationError(value, member, constraint string) *IAMError {
	return iamErr(CodeValidationError, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("_+=,.@-", c) >= 0
}

// validateName checks an IAM entity name: [\w+=,.@-]+ of 1..max characters.
func validateName(value, member string, max int) error {
	if len(value) < 1 || len(value) > max {
		return validationError(value, member, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
	for i := 0; i < len(value); i++ {
		if !isNameChar(value[i]) {
			return validationError(value, member, `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
		}
	}
	return nil
}

// NormalizePath checks an IAM path ("/" or /.../ of printable ASCII), with
// "" meaning "/".
func NormalizePath(p, member string) (string, error) {
	if p == "" {
		return "/", nil
	}
	ok := len(p) <= 512 && p[0] == '/' && p[len(p)-1] == '/'
	for i := 0; ok && i < len(p); i++ {
		ok = p[i] >= 0x21 && p[i] <= 0x7e
	}
	if !ok {
		return "", validationError(p, member, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return p, nil
}

func validateUserName(name string) error   { return validateName(name, "userName", 64) }
func validateGroupName(name string) error  { return validateName(name, "groupName", 128) }
func validatePolicyName(name string) error { return validateName(name, "policyName", 128) }

func validateKeyID(keyID string) error {
	if len(keyID) < 16 || len(keyID) > 128 {
		return validationError(keyID, "accessKeyId", "Member must have length greater than or equal to 16")
	}
	for i := 0; i < len(keyID); i++ {
		if c := keyID[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return validationError(keyID, "accessKeyId", `Member must satisfy regular expression pattern: [\w]+`)
		}
	}
	return nil
}

// validatePolicy parses doc as an identity policy, so nothing malformed is
// ever stored. quota is the inline size quota (non-whitespace characters).
func validatePolicy(doc string, quota int, owner string) error {
	if doc == "" || len(doc) > policy.MaxDocumentBytes {
		return validationError("", "policyDocument", "Member must have length greater than or equal to 1")
	}
	_, err := policy.ParseIdentityPolicy(doc, policy.WithSizeLimit(quota, false))
	var me *policy.MalformedError
	var se *policy.SizeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &me):
		return iamErr(CodeMalformedPolicyDocument, "%s", me.Message)
	case errors.As(err, &se):
		return iamErr(CodeLimitExceeded, "Maximum policy size of %d bytes exceeded for %s", quota, owner)
	}
	return iamErr(CodeMalformedPolicyDocument, "Syntax errors in policy.")
}

func noSuchUser(name string) *IAMError {
	return iamErr(CodeNoSuchEntity, "The user with name %s cannot be found.", name)
}

func noSuchGroup(name string) *IAMError {
	return iamErr(CodeNoSuchEntity, "The group with name %s cannot be found.", name)
}

// storeErr maps a failed store call of operation op: meta.ErrNotFound is the
// IAM error notFound, anything else an internal error wrapped with op.
func storeErr(err error, notFound *IAMError, op string) error {
	if errors.Is(err, meta.ErrNotFound) {
		return notFound
	}
	return fmt.Errorf("identity: %s: %w", op, err)
}

// newEntity checks a new user's or group's name (with validate) and path, and
// draws its unique id: prefix and 17 random characters, as AWS's.
func newEntity(validate func(string) error, name, path, prefix string) (normPath, uniqueID string, err error) {
	if err := validate(name); err != nil {
		return "", "", err
	}
	if path, err = NormalizePath(path, "path"); err != nil {
		return "", "", err
	}
	suffix, err := randomString(17, keyIDAlphabet)
	if err != nil {
		return "", "", err
	}
	return path, prefix + suffix, nil
}

// createErr maps a failed store call creating a user or group; entity is
// "User" or "Group", as IAM's message spells it.
func createErr(err error, entity, name string) error {
	if errors.Is(err, meta.ErrExists) {
		return iamErr(CodeEntityAlreadyExists, "%s with name %s already exists.", entity, name)
	}
	return fmt.Errorf("identity: create %s: %w", strings.ToLower(entity), err)
}

// dependent is one kind of thing that must be gone before a user or group
// can be deleted: count counts what remains, and conflict ends IAM's
// DeleteConflict message when any does.
type dependent struct {
	conflict string
	count    func() (int, error)
}

// countOf adapts a store listing to dependent.count.
func countOf[T any](items []T, err error) (int, error) { return len(items), err }

// checkNoDependents checks deps in order (IAM reports the first conflict).
func checkNoDependents(op string, deps ...dependent) error {
	for _, d := range deps {
		n, err := d.count()
		if err != nil {
			return fmt.Errorf("identity: %s: %w", op, err)
		}
		if n > 0 {
			return iamErr(CodeDeleteConflict, "Cannot delete entity, %s", d.conflict)
		}
	}
	return nil
}

func (id *Identity) now() time.Time { return time.Now().UTC() }

// Users.

// CreateUser creates an IAM user.
func (id *Identity) CreateUser(ctx context.Context, name, path string) (*User, error) {
	path, userID, err := newEntity(validateUserName, name, path, prefixUser)
	if err != nil {
		return nil, err
	}
	u := &meta.IAMUser{Name: name, Path: path, UserID: userID, CreatedAt: id.now()}
	if err := id.store.CreateIAMUser(ctx, u); err != nil {
		return nil, createErr(err, "User", name)
	}
	return id.user(u), nil
}

// GetUser returns the named user.
func (id *Identity) GetUser(ctx context.Context, name string) (*User, error) {
	if err := validateUserName(name); err != nil {
		return nil, err
	}
	u, err := id.store.GetIAMUser(ctx, name)
	if err != nil {
		return nil, storeErr(err, noSuchUser(name), "get user")
	}
	return id.user(u), nil
}

// ListUsers lists users whose path starts with pathPrefix, up to limit,
// after the user named marker.
func (id *Identity) ListUsers(ctx context.Context, pathPrefix, marker string, limit int) ([]User, error) {
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	us, err := id.store.ListIAMUsers(ctx, pathPrefix, marker, limit)
	if err != nil {
		return nil, fmt.Errorf("identity: list users: %w", err)
	}
	out := make([]User, len(us))
	for i := range us {
		out[i] = *id.user(&us[i])
	}
	return out, nil
}

// DeleteUser deletes a user that has no access keys, policies or groups.
func (id *Identity) DeleteUser(ctx context.Context, name string) error {
	if err := validateUserName(name); err != nil {
		return err
	}
	return id.store.InTx(ctx, func(q meta.Queries) error {
		if _, err := q.GetIAMUser(ctx, name); err != nil {
			return storeErr(err, noSuchUser(name), "delete user")
		}
		err := checkNoDependents("delete user",
			dependent{"must delete access keys first.", func() (int, error) {
				return countOf(q.ListIAMAccessKeys(ctx, name))
			}},
			dependent{"must delete policies first.", func() (int, error) {
				return countOf(q.ListIAMInlinePolicies(ctx, meta.IAMOwnerUser, name))
			}},
			dependent{"must detach all policies first.", func() (int, error) {
				return countOf(q.ListIAMAttachedUserPolicies(ctx, name))
			}},
			dependent{"must remove users from group first.", func() (int, error) {
				return countOf(q.ListIAMGroupsForUser(ctx, name))
			}},
		)
		if err != nil {
			return err
		}
		if err := q.DeleteIAMUser(ctx, name); err != nil {
			return fmt.Errorf("identity: delete user: %w", err)
		}
		return nil
	})
}

// Access keys.

// CreateAccessKey creates an Active key for user; its secret is returned
// here once and stored only sealed.
func (id *Identity) CreateAccessKey(ctx context.Context, user string) (*NewAccessKey, error) {
	if err := validateUserName(user); err != nil {
		return nil, err
	}
	suffix, err := randomString(16, keyIDAlphabet)
	if err != nil {
		return nil, err
	}
	secret, err := randomString(40, secretAlphabet)
	if err != nil {
		return nil, err
	}
	sealed, err := id.sealer.Seal([]byte(secret))
	if err != nil {
		return nil, fmt.Errorf("identity: seal secret: %w", err)
	}
	k := &meta.IAMAccessKey{ID: prefixAccessKey + suffix, SealedSecret: sealed, Status: string(auth.KeyActive), CreatedAt: id.now()}
	err = id.store.InTx(ctx, func(q meta.Queries) error {
		u, err := q.GetIAMUser(ctx, user)
		if err != nil {
			return storeErr(err, noSuchUser(user), "create access key")
		}
		k.UserName = u.Name
		keys, err := q.ListIAMAccessKeys(ctx, user)
		if err != nil {
			return fmt.Errorf("identity: create access key: %w", err)
		}
		if len(keys) >= MaxAccessKeysPerUser {
			return iamErr(CodeLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeysPerUser)
		}
		if err := q.CreateIAMAccessKey(ctx, k); err != nil {
			return fmt.Errorf("identity: create access key: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &NewAccessKey{IAMAccessKey: *k, Secret: secret}, nil
}

// ListAccessKeys lists a user's keys (secrets not included).
func (id *Identity) ListAccessKeys(ctx context.Context, user string) ([]meta.IAMAccessKey, error) {
	if _, err := id.GetUser(ctx, user); err != nil {
		return nil, err
	}
	keys, err := id.store.ListIAMAccessKeys(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("identity: list access keys: %w", err)
	}
	for i := range keys {
		keys[i].SealedSecret = nil
	}
	return keys, nil
}

// userKey checks that keyID belongs to user.
func (id *Identity) userKey(ctx context.Context, q meta.Queries, user, keyID string) error {
	if err := validateUserName(user); err != nil {
		return err
	}
	if err := validateKeyID(keyID); err != nil {
		return err
	}
	if _, err := q.GetIAMUser(ctx, user); err != nil {
		return storeErr(err, noSuchUser(user), "access key")
	}
	k, err := q.GetIAMAccessKey(ctx, keyID)
	if errors.Is(err, meta.ErrNotFound) || err == nil && !strings.EqualFold(k.UserName, user) {
		return iamErr(CodeNoSuchEntity, "The Access Key with id %s cannot be found.", keyID)
	}
	if err != nil {
		return fmt.Errorf("identity: access key: %w", err)
	}
	return nil
}

// UpdateAccessKey sets a key Active or Inactive. An Inactive key fails
// its next request on this node at once (and on others within the login
// token cache TTL for tokens it minted; SigV4 is checked uncached).
func (id *Identity) UpdateAccessKey(ctx context.Context, user, keyID, status string) error {
	if status != string(auth.KeyActive) && status != string(auth.KeyInactive) {
		return validationError(status, "status", "Member must satisfy enum value set: [Active, Inactive]")
	}
	err := id.store.InTx(ctx, func(q meta.Queries) error {
		if err := id.userKey(ctx, q, user, keyID); err != nil {
			return err
		}
		if err := q.UpdateIAMAccessKeyStatus(ctx, keyID, status); err != nil {
			return fmt.Errorf("identity: update access key: %w", err)
		}
		return nil
	})
	id.forget(keyID)
	return err
}

// DeleteAccessKey deletes a user's key.
func (id *Identity) DeleteAccessKey(ctx context.Context, user, keyID string) error {
	err := id.store.InTx(ctx, func(q meta.Queries) error {
		if err := id.userKey(ctx, q, user, keyID); err != nil {
			return err
		}
		if err := q.DeleteIAMAccessKey(ctx, keyID); err != nil {
			return fmt.Errorf("identity: delete access key: %w", err)
		}
		return nil
	})
	id.forget(keyID)
	return err
}

// Inline policies.

// PutUserPolicy validates and stores an inline user policy. The sum of a
// user's inline policies may hold policy.MaxInlineUserPolicySize
// non-whitespace characters, as in IAM.
func (id *Identity) PutUserPolicy(ctx context.Context, user, name, doc string) error {
	return id.putInline(ctx, meta.IAMOwnerUser, user, name, doc, policy.MaxInlineUserPolicySize)
}

// PutGroupPolicy validates and stores an inline group policy.
func (id *Identity) PutGroupPolicy(ctx context.Context, group, name, doc string) error {
	return id.putInline(ctx, meta.IAMOwnerGroup, group, name, doc, policy.MaxInlineGroupPolicySize)
}

func nonSpace(s string) int {
	n := 0
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			n++
		}
	}
	return n
}

func (id *Identity) putInline(ctx context.Context, kind meta.IAMPolicyOwner, owner, name, doc string, quota int) error {
	validateOwner, notFound := validateUserName, noSuchUser
	if kind == meta.IAMOwnerGroup {
		validateOwner, notFound = validateGroupName, noSuchGroup
	}
	if err := validateOwner(owner); err != nil {
		return err
	}
	if err := validatePolicyName(name); err != nil {
		return err
	}
	if err := validatePolicy(doc, quota, string(kind)+" "+owner); err != nil {
		return err
	}
	return id.store.InTx(ctx, func(q meta.Queries) error {
		existing, err := q.ListIAMInlinePolicies(ctx, kind, owner)
		if err != nil {
			return fmt.Errorf("identity: put %s policy: %w", kind, err)
		}
		total := nonSpace(doc)
		for _, p := range existing {
			if p.Name != name {
				total += nonSpace(p.Document)
			}
		}
		if total > quota {
			return iamErr(CodeLimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s", quota, kind, owner)
		}
		err = q.PutIAMInlinePolicy(ctx, &meta.IAMInlinePolicy{OwnerKind: kind, Owner: owner, Name: name, Document: doc})
		if err != nil {
			return storeErr(err, notFound(owner), fmt.Sprintf("put %s policy", kind))
		}
		return nil
	})
}

// GetUserPolicy returns an inline user policy's document and the user that
// holds it (whose Name is the user name as stored, which the API reports).
func (id *Identity) GetUserPolicy(ctx context.Context, user, name string) (*User, string, error) {
	u, err := id.GetUser(ctx, user)
	if err != nil {
		return nil, "", err
	}
	if err := validatePolicyName(name); err != nil {
		return nil, "", err
	}
	p, err := id.store.GetIAMInlinePolicy(ctx, meta.IAMOwnerUser, user, name)
	if err != nil {
		return nil, "", storeErr(err, noSuchInline(meta.IAMOwnerUser, name), "get user policy")
	}
	return u, p.Document, nil
}

// DeleteUserPolicy deletes an inline user policy.
func (id *Identity) DeleteUserPolicy(ctx context.Context, user, name string) error {
	return id.deleteInline(ctx, meta.IAMOwnerUser, user, name)
}

// DeleteGroupPolicy deletes an inline group policy.
func (id *Identity) DeleteGroupPolicy(ctx context.Context, group, name string) error {
	return id.deleteInline(ctx, meta.IAMOwnerGroup, group, name)
}

func (id *Identity) deleteInline(ctx context.Context, kind meta.IAMPolicyOwner, owner, name string) error {
	var err error
	if kind == meta.IAMOwnerGroup {
		_, err = id.GetGroup(ctx, owner)
	} else {
		_, err = id.GetUser(ctx, owner)
	}
	if err != nil {
		return err
	}
	if err := validatePolicyName(name); err != nil {
		return err
	}
	if err := id.store.DeleteIAMInlinePolicy(ctx, kind, owner, name); err != nil {
		return storeErr(err, noSuchInline(kind, name), fmt.Sprintf("delete %s policy", kind))
	}
	return nil
}

func noSuchInline(kind meta.IAMPolicyOwner, name string) *IAMError {
	return iamErr(CodeNoSuchEntity, "The %s policy with name %s cannot be found.", kind, name)
}

// ListUserPolicies lists the names of a user's inline policies.
func (id *Identity) ListUserPolicies(ctx context.Context, user string) ([]string, error) {
	if _, err := id.GetUser(ctx, user); err != nil {
		return nil, err
	}
	ps, err := id.store.ListIAMInlinePolicies(ctx, meta.IAMOwnerUser, user)
	if err != nil {
		return nil, fmt.Errorf("identity: list user policies: %w", err)
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names, nil
}

// Managed policies.

// ManagedPolicy is an attachable AWS managed policy.
type ManagedPolicy struct {
	Name, ARN, Document string
}

// checkPolicyARN checks a PolicyArn parameter's shape.
func checkPolicyARN(arn string) error {
	if !strings.HasPrefix(arn, "arn:") || len(arn) < 20 || len(arn) > 2048 {
		return iamErr(CodeInvalidInput, "ARN %s is not valid.", arn)
	}
	return nil
}

// managedPolicyName is the name an attached managed policy's ARN ends with.
func managedPolicyName(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// managedPolicy resolves an AWS managed ECR policy ARN.
func managedPolicy(arn string) (ManagedPolicy, error) {
	if err := checkPolicyARN(arn); err != nil {
		return ManagedPolicy{}, err
	}
	name, ok := strings.CutPrefix(arn, policy.ManagedPolicyARN(""))
	if doc, found := policy.ManagedPolicies[name]; ok && found {
		return ManagedPolicy{Name: name, ARN: arn, Document: doc}, nil
	}
	return ManagedPolicy{}, iamErr(CodeNoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
}

// AttachUserPolicy attaches an AWS managed ECR policy (idempotent).
func (id *Identity) AttachUserPolicy(ctx context.Context, user, arn string) error {
	if err := validateUserName(user); err != nil {
		return err
	}
	if _, err := managedPolicy(arn); err != nil {
		return err
	}
	if err := id.store.AttachIAMUserPolicy(ctx, user, arn); err != nil {
		return storeErr(err, noSuchUser(user), "attach user policy")
	}
	return nil
}

// DetachUserPolicy detaches a managed policy.
func (id *Identity) DetachUserPolicy(ctx context.Context, user, arn string) error {
	if _, err := id.GetUser(ctx, user); err != nil {
		return err
	}
	if err := checkPolicyARN(arn); err != nil {
		return err
	}
	if err := id.store.DetachIAMUserPolicy(ctx, user, arn); err != nil {
		return storeErr(err, iamErr(CodeNoSuchEntity, "Policy %s was not found.", arn), "detach user policy")
	}
	return nil
}

// ListAttachedUserPolicies lists the managed policies attached to a user.
func (id *Identity) ListAttachedUserPolicies(ctx context.Context, user string) ([]ManagedPolicy, error) {
	if _, err := id.GetUser(ctx, user); err != nil {
		return nil, err
	}
	arns, err := id.store.ListIAMAttachedUserPolicies(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("identity: list attached user policies: %w", err)
	}
	out := make([]ManagedPolicy, 0, len(arns))
	for _, arn := range arns {
		name := managedPolicyName(arn)
		out = append(out, ManagedPolicy{Name: name, ARN: arn, Document: policy.ManagedPolicies[name]})
	}
	return out, nil
}

// Groups.

func (id *Identity) group(g *meta.IAMGroup) *Group {
	return &Group{IAMGroup: *g, ARN: id.GroupARN(g.Path, g.Name)}
}

// CreateGroup creates a group.
func (id *Identity) CreateGroup(ctx context.Context, name, path string) (*Group, error) {
	path, groupID, err := newEntity(validateGroupName, name, path, prefixGroup)
	if err != nil {
		return nil, err
	}
	g := &meta.IAMGroup{Name: name, Path: path, GroupID: groupID, CreatedAt: id.now()}
	if err := id.store.CreateIAMGroup(ctx, g); err != nil {
		return nil, createErr(err, "Group", name)
	}
	return id.group(g), nil
}

// GetGroup returns the named group.
func (id *Identity) GetGroup(ctx context.Context, name string) (*Group, error) {
	if err := validateGroupName(name); err != nil {
		return nil, err
	}
	g, err := id.store.GetIAMGroup(ctx, name)
	if err != nil {
		return nil, storeErr(err, noSuchGroup(name), "get group")
	}
	return id.group(g), nil
}

// DeleteGroup deletes a group without members or policies.
func (id *Identity) DeleteGroup(ctx context.Context, name string) error {
	if err := validateGroupName(name); err != nil {
		return err
	}
	return id.store.InTx(ctx, func(q meta.Queries) error {
		if _, err := q.GetIAMGroup(ctx, name); err != nil {
			return storeErr(err, noSuchGroup(name), "delete group")
		}
		err := checkNoDependents("delete group",
			dependent{"must remove users from group first.", func() (int, error) {
				return countOf(q.ListIAMGroupMembers(ctx, name))
			}},
			dependent{"must delete policies first.", func() (int, error) {
				return countOf(q.ListIAMInlinePolicies(ctx, meta.IAMOwnerGroup, name))
			}},
		)
		if err != nil {
			return err
		}
		if err := q.DeleteIAMGroup(ctx, name); err != nil {
			return fmt.Errorf("identity: delete group: %w", err)
		}
		return nil
	})
}

// AddUserToGroup adds a user to a group (idempotent).
func (id *Identity) AddUserToGroup(ctx context.Context, group, user string) error {
	if err := id.checkGroupAndUser(ctx, group, user); err != nil {
		return err
	}
	if err := id.store.AddIAMUserToGroup(ctx, group, user); err != nil {
		return storeErr(err, noSuchUser(user), "add user to group") // not found: deleted in between
	}
	return nil
}

// RemoveUserFromGroup removes a user from a group.
func (id *Identity) RemoveUserFromGroup(ctx context.Context, group, user string) error {
	if err := id.checkGroupAndUser(ctx, group, user); err != nil {
		return err
	}
	if err := id.store.RemoveIAMUserFromGroup(ctx, group, user); err != nil {
		return storeErr(err, iamErr(CodeNoSuchEntity, "The user with name %s cannot be found in group %s.", user, group), "remove user from group")
	}
	return nil
}

// checkGroupAndUser checks that both exist; a missing group is reported
// before a missing user.
func (id *Identity) checkGroupAndUser(ctx context.Context, group, user string) error {
	if _, err := id.GetGroup(ctx, group); err != nil {
		return err
	}
	_, err := id.GetUser(ctx, user)
	return err
}

// PoliciesFor returns the identity policy documents that apply to p: the
// user's inline policies, its groups' inline policies and the documents of
// its attached managed policies. The root has none (root is not subject to
// identity policies: callers let it do everything). Documents were
// validated on write, so each parses with policy.ParseIdentityPolicy.
func (id *Identity) PoliciesFor(ctx context.Context, p *auth.Principal) ([]string, error) {
	if p == nil || p.IsRoot {
		return nil, nil
	}
	var docs []string
	inline, err := id.store.ListIAMInlinePolicies(ctx, meta.IAMOwnerUser, p.UserName)
	if err != nil {
		return nil, fmt.Errorf("identity: policies of %s: %w", p.ARN, err)
	}
	for _, ip := range inline {
		docs = append(docs, ip.Document)
	}
	groups, err := id.store.ListIAMGroupsForUser(ctx, p.UserName)
	if err != nil {
		return nil, fmt.Errorf("identity: policies of %s: %w", p.ARN, err)
	}
	for _, g := range groups {
		gps, err := id.store.ListIAMInlinePolicies(ctx, meta.IAMOwnerGroup, g.Name)
		if err != nil {
			return nil, fmt.Errorf("identity: policies of %s: %w", p.ARN, err)
		}
		for _, gp := range gps {
			docs = append(docs, gp.Document)
		}
	}
	arns, err := id.store.ListIAMAttachedUserPolicies(ctx, p.UserName)
	if err != nil {
		return nil, fmt.Errorf("identity: policies of %s: %w", p.ARN, err)
	}
	for _, arn := range arns {
		if doc, ok := policy.ManagedPolicies[managedPolicyName(arn)]; ok {
			docs = append(docs, doc)
		}
	}
	return docs, nil
}

// GroupMembers returns the users in a group, ordered by name.
func (id *Identity) GroupMembers(ctx context.Context, group string) ([]User, error) {
	names, err := id.store.ListIAMGroupMembers(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("identity: group members: %w", err)
	}
	out := make([]User, 0, len(names))
	for _, n := range names {
		u, err := id.store.GetIAMUser(ctx, n)
		if errors.Is(err, meta.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("identity: group members: %w", err)
		}
		out = append(out, *id.user(u))
	}
	return out, nil
}
