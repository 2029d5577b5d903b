package iamapi

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berth-registry/berth/internal/identity"
	"github.com/berth-registry/berth/internal/meta"
)

// operation is one action of the table.
type operation struct {
	// resource returns the ARN authorization is checked against.
	resource func(h *Handler, ctx context.Context, req *request) (string, error)
	run      func(h *Handler, ctx context.Context, req *request) (any, error)
	// mutates marks actions written to the audit log.
	mutates bool
}

var iamActions map[string]operation

var stsActions = map[string]operation{
	"GetCallerIdentity": {resource: anyResource, run: (*Handler).getCallerIdentity},
}

func init() {
	iamActions = map[string]operation{
		"CreateUser":               {resource: newUserResource, run: (*Handler).createUser, mutates: true},
		"GetUser":                  {resource: userResource, run: (*Handler).getUser},
		"ListUsers":                {resource: usersResource, run: (*Handler).listUsers},
		"DeleteUser":               {resource: userResource, run: (*Handler).deleteUser, mutates: true},
		"CreateAccessKey":          {resource: userResource, run: (*Handler).createAccessKey, mutates: true},
		"ListAccessKeys":           {resource: userResource, run: (*Handler).listAccessKeys},
		"UpdateAccessKey":          {resource: userResource, run: (*Handler).updateAccessKey, mutates: true},
		"DeleteAccessKey":          {resource: userResource, run: (*Handler).deleteAccessKey, mutates: true},
		"PutUserPolicy":            {resource: userResource, run: (*Handler).putUserPolicy, mutates: true},
		"GetUserPolicy":            {resource: userResource, run: (*Handler).getUserPolicy},
		"DeleteUserPolicy":         {resource: userResource, run: (*Handler).deleteUserPolicy, mutates: true},
		"ListUserPolicies":         {resource: userResource, run: (*Handler).listUserPolicies},
		"AttachUserPolicy":         {resource: userResource, run: (*Handler).attachUserPolicy, mutates: true},
		"DetachUserPolicy":         {resource: userResource, run: (*Handler).detachUserPolicy, mutates: true},
		"ListAttachedUserPolicies": {resource: userResource, run: (*Handler).listAttachedUserPolicies},
		"CreateGroup":              {resource: newGroupResource, run: (*Handler).createGroup, mutates: true},
		"GetGroup":                 {resource: groupResource, run: (*Handler).getGroup},
		"DeleteGroup":              {resource: groupResource, run: (*Handler).deleteGroup, mutates: true},
		"AddUserToGroup":           {resource: groupResource, run: (*Handler).addUserToGroup, mutates: true},
		"RemoveUserFromGroup":      {resource: groupResource, run: (*Handler).removeUserFromGroup, mutates: true},
		"PutGroupPolicy":           {resource: groupResource, run: (*Handler).putGroupPolicy, mutates: true},
		"DeleteGroupPolicy":        {resource: groupResource, run: (*Handler).deleteGroupPolicy, mutates: true},
	}
}

// Resources for authorization. An existing user or group is authorized
// under its ARN as stored, path included, as AWS does: a policy may grant
// iam:DeleteUser on arn:aws:iam::*:user/division/* only. Only the create
// actions take the path from the request; any other action ignores a Path
// parameter, which a caller could otherwise set to pass such a policy.

func anyResource(*Handler, context.Context, *request) (string, error) { return "*", nil }

func userResource(h *Handler, ctx context.Context, req *request) (string, error) {
	name := req.get("UserName")
	if name == "" {
		return req.principal.ARN, nil // the caller's own user
	}
	return storedARN(name, h.id.UserARN, func() (string, error) {
		u, err := h.id.GetUser(ctx, name)
		if err != nil {
			return "", err
		}
		return u.ARN, nil
	})
}

func usersResource(h *Handler, _ context.Context, _ *request) (string, error) {
	return "arn:aws:iam::" + h.id.AccountID() + ":user/", nil
}

func groupResource(h *Handler, ctx context.Context, req *request) (string, error) {
	name := req.get("GroupName")
	return storedARN(name, h.id.GroupARN, func() (string, error) {
		g, err := h.id.GetGroup(ctx, name)
		if err != nil {
			return "", err
		}
		return g.ARN, nil
	})
}

// newUserResource is CreateUser's: the ARN the new user will have.
func newUserResource(h *Handler, _ context.Context, req *request) (string, error) {
	return h.id.UserARN(requestPath(req), req.get("UserName")), nil
}

// newGroupResource is CreateGroup's: the ARN the new group will have.
func newGroupResource(h *Handler, _ context.Context, req *request) (string, error) {
	return h.id.GroupARN(requestPath(req), req.get("GroupName")), nil
}

// requestPath is a create's Path parameter, "/" when absent as in IAM.
func requestPath(req *request) string {
	if path := req.get("Path"); path != "" {
		return path
	}
	return "/"
}

// storedARN is the stored ARN of the user or group name, or, when there is
// no such entity or the name is invalid, its path-less ARN (the action
// itself then reports the error).
func storedARN(name string, arnOf func(path, name string) string, stored func() (string, error)) (string, error) {
	arn, err := stored()
	var iamErr *identity.IAMError
	switch {
	case err == nil:
		return arn, nil
	case errors.As(err, &iamErr):
		return arnOf("/", name), nil
	default:
		return "", err
	}
}

// XML shapes of the IAM model.

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

type xmlUser struct {
	Path       string `xml:"Path,omitempty"`
	UserName   string `xml:"UserName,omitempty"`
	UserID     string `xml:"UserId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func toXMLUser(u *identity.User) xmlUser {
	return xmlUser{Path: u.Path, UserName: u.Name, UserID: u.UserID, Arn: u.ARN, CreateDate: isoTime(u.CreatedAt)}
}

type xmlGroup struct {
	Path       string `xml:"Path"`
	GroupName  string `xml:"GroupName"`
	GroupID    string `xml:"GroupId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func toXMLGroup(g *identity.Group) xmlGroup {
	return xmlGroup{Path: g.Path, GroupName: g.Name, GroupID: g.GroupID, Arn: g.ARN, CreateDate: isoTime(g.CreatedAt)}
}

type userResult struct {
	User xmlUser `xml:"User"`
}

type groupResult struct {
	Group xmlGroup `xml:"Group"`
}

// maxItems parses MaxItems (1..1000, default 100).
func maxItems(req *request) (int, error) {
	v := req.get("MaxItems")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, newError(identity.CodeValidationError,
			"1 validation error detected: Value '"+v+"' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000")
	}
	return n, nil
}

// callerName returns UserName or, when absent, the caller's own user name
// (IAM's default for the user-scoped actions). The root has no user name.
func callerName(req *request) (string, error) {
	if v := req.get("UserName"); v != "" {
		return v, nil
	}
	if req.principal.IsRoot {
		return "", newError(identity.CodeValidationError,
			"Must specify userName when calling with non-User credentials")
	}
	return req.principal.UserName, nil
}

// Users.

func (h *Handler) createUser(ctx context.Context, req *request) (any, error) {
	name, err := req.required("UserName", "userName")
	if err != nil {
		return nil, err
	}
	u, err := h.id.CreateUser(ctx, name, req.get("Path"))
	if err != nil {
		return nil, err
	}
	return userResult{toXMLUser(u)}, nil
}

func (h *Handler) getUser(ctx context.Context, req *request) (any, error) {
	name := req.get("UserName")
	if name == "" && req.principal.IsRoot {
		p := req.principal
		// The root has no user name or path.
		return userResult{xmlUser{UserID: p.AccountID, Arn: p.ARN, CreateDate: isoTime(time.Unix(0, 0))}}, nil
	}
	if name == "" {
		name = req.principal.UserName
	}
	u, err := h.id.GetUser(ctx, name)
	if err != nil {
		return nil, err
	}
	return userResult{toXMLUser(u)}, nil
}

type listUsersResult struct {
	Users       []xmlUser `xml:"Users>member"`
	IsTruncated bool      `xml:"IsTruncated"`
	Marker      string    `xml:"Marker,omitempty"`
}

func (h *Handler) listUsers(ctx context.Context, req *request) (any, error) {
	n, err := maxItems(req)
	if err != nil {
		return nil, err
	}
	prefix := req.get("PathPrefix")
	if prefix != "" && (prefix[0] != '/' || len(prefix) > 512) {
		return nil, newError(identity.CodeValidationError, "1 validation error detected: Value '"+prefix+
			"' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*")
	}
	marker, err := decodeMarker(req.get("Marker"))
	if err != nil {
		return nil, err
	}
	us, err := h.id.ListUsers(ctx, prefix, marker, n+1)
	if err != nil {
		return nil, err
	}
	out := listUsersResult{Users: []xmlUser{}}
	if len(us) > n {
		us = us[:n]
		out.IsTruncated = true
		out.Marker = url.QueryEscape(us[n-1].Name)
	}
	for i := range us {
		out.Users = append(out.Users, toXMLUser(&us[i]))
	}
	return out, nil
}

func decodeMarker(m string) (string, error) {
	if m == "" {
		return "", nil
	}
	s, err := url.QueryUnescape(m)
	if err != nil || len(s) > 128 {
		return "", newError("InvalidParameterValue", "Invalid Marker.")
	}
	return s, nil
}

func (h *Handler) deleteUser(ctx context.Context, req *request) (any, error) {
	name, err := req.required("UserName", "userName")
	if err != nil {
		return nil, err
	}
	return nil, h.id.DeleteUser(ctx, name)
}

// Access keys.

type xmlAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate"`
}

func toXMLKey(k *meta.IAMAccessKey, secret string) xmlAccessKey {
	return xmlAccessKey{UserName: k.UserName, AccessKeyID: k.ID, Status: k.Status, SecretAccessKey: secret, CreateDate: isoTime(k.CreatedAt)}
}

type createAccessKeyResult struct {
	AccessKey xmlAccessKey `xml:"AccessKey"`
}

func (h *Handler) createAccessKey(ctx context.Context, req *request) (any, error) {
	name, err := callerName(req)
	if err != nil {
		return nil, err
	}
	k, err := h.id.CreateAccessKey(ctx, name)
	if err != nil {
		return nil, err
	}
	return createAccessKeyResult{toXMLKey(&k.IAMAccessKey, k.Secret)}, nil
}

type listAccessKeysResult struct {
	AccessKeyMetadata []xmlAccessKey `xml:"AccessKeyMetadata>member"`
	IsTruncated       bool           `xml:"IsTruncated"`
}

func (h *Handler) listAccessKeys(ctx context.Context, req *request) (any, error) {
	name, err := callerName(req)
	if err != nil {
		return nil, err
	}
	keys, err := h.id.ListAccessKeys(ctx, name)
	if err != nil {
		return nil, err
	}
	out := listAccessKeysResult{AccessKeyMetadata: []xmlAccessKey{}}
	for i := range keys {
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, toXMLKey(&keys[i], ""))
	}
	return out, nil
}

func (h *Handler) updateAccessKey(ctx context.Context, req *request) (any, error) {
	keyID, err := req.required("AccessKeyId", "accessKeyId")
	if err != nil {
		return nil, err
	}
	status, err := req.required("Status", "status")
	if err != nil {
		return nil, err
	}
	name, err := callerName(req)
	if err != nil {
		return nil, err
	}
	return nil, h.id.UpdateAccessKey(ctx, name, keyID, status)
}

func (h *Handler) deleteAccessKey(ctx context.Context, req *request) (any, error) {
	keyID, err := req.required("AccessKeyId", "accessKeyId")
	if err != nil {
		return nil, err
	}
	name, err := callerName(req)
	if err != nil {
		return nil, err
	}
	return nil, h.id.DeleteAccessKey(ctx, name, keyID)
}

// Inline user policies.

func (h *Handler) putUserPolicy(ctx context.Context, req *request) (any, error) {
	user, name, doc, err := policyParams(req, "UserName", "userName", true)
	if err != nil {
		return nil, err
	}
	return nil, h.id.PutUserPolicy(ctx, user, name, doc)
}

// policyParams reads the owner, PolicyName and (when withDoc)
// PolicyDocument parameters.
func policyParams(req *request, ownerParam, ownerMember string, withDoc bool) (owner, name, doc string, err error) {
	if owner, err = req.required(ownerParam, ownerMember); err != nil {
		return "", "", "", err
	}
	if name, err = req.required("PolicyName", "policyName"); err != nil {
		return "", "", "", err
	}
	if withDoc {
		if doc, err = req.required("PolicyDocument", "policyDocument"); err != nil {
			return "", "", "", err
		}
	}
	return owner, name, doc, nil
}

type getUserPolicyResult struct {
	UserName       string `xml:"UserName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func (h *Handler) getUserPolicy(ctx context.Context, req *request) (any, error) {
	user, name, _, err := policyParams(req, "UserName", "userName", false)
	if err != nil {
		return nil, err
	}
	u, doc, err := h.id.GetUserPolicy(ctx, user, name)
	if err != nil {
		return nil, err
	}
	// IAM returns policy documents URL-encoded (RFC 3986).
	return getUserPolicyResult{UserName: u.Name, PolicyName: name, PolicyDocument: encodeDocument(doc)}, nil
}

// encodeDocument URL-encodes a policy document as IAM does: spaces as %20.
func encodeDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func (h *Handler) deleteUserPolicy(ctx context.Context, req *request) (any, error) {
	user, name, _, err := policyParams(req, "UserName", "userName", false)
	if err != nil {
		return nil, err
	}
	return nil, h.id.DeleteUserPolicy(ctx, user, name)
}

type listUserPoliciesResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool     `xml:"IsTruncated"`
}

func (h *Handler) listUserPolicies(ctx context.Context, req *request) (any, error) {
	user, err := req.required("UserName", "userName")
	if err != nil {
		return nil, err
	}
	names, err := h.id.ListUserPolicies(ctx, user)
	if err != nil {
		return nil, err
	}
	if names == nil {
		names = []string{}
	}
	return listUserPoliciesResult{PolicyNames: names}, nil
}

// Managed policies.

func attachParams(req *request) (user, arn string, err error) {
	if user, err = req.required("UserName", "userName"); err != nil {
		return "", "", err
	}
	if arn, err = req.required("PolicyArn", "policyArn"); err != nil {
		return "", "", err
	}
	return user, arn, nil
}

func (h *Handler) attachUserPolicy(ctx context.Context, req *request) (any, error) {
	user, arn, err := attachParams(req)
	if err != nil {
		return nil, err
	}
	return nil, h.id.AttachUserPolicy(ctx, user, arn)
}

func (h *Handler) detachUserPolicy(ctx context.Context, req *request) (any, error) {
	user, arn, err := attachParams(req)
	if err != nil {
		return nil, err
	}
	return nil, h.id.DetachUserPolicy(ctx, user, arn)
}

type xmlAttachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type listAttachedUserPoliciesResult struct {
	AttachedPolicies []xmlAttachedPolicy `xml:"AttachedPolicies>member"`
	IsTruncated      bool                `xml:"IsTruncated"`
}

func (h *Handler) listAttachedUserPolicies(ctx context.Context, req *request) (any, error) {
	user, err := req.required("UserName", "userName")
	if err != nil {
		return nil, err
	}
	ps, err := h.id.ListAttachedUserPolicies(ctx, user)
	if err != nil {
		return nil, err
	}
	out := listAttachedUserPoliciesResult{AttachedPolicies: []xmlAttachedPolicy{}}
	for _, p := range ps {
		out.AttachedPolicies = append(out.AttachedPolicies, xmlAttachedPolicy{PolicyName: p.Name, PolicyArn: p.ARN})
	}
	return out, nil
}

// Groups.

func (h *Handler) createGroup(ctx context.Context, req *request) (any, error) {
	name, err := req.required("GroupName", "groupName")
	if err != nil {
		return nil, err
	}
	g, err := h.id.CreateGroup(ctx, name, req.get("Path"))
	if err != nil {
		return nil, err
	}
	return groupResult{toXMLGroup(g)}, nil
}

type getGroupResult struct {
	Group       xmlGroup  `xml:"Group"`
	Users       []xmlUser `xml:"Users>member"`
	IsTruncated bool      `xml:"IsTruncated"`
}

func (h *Handler) getGroup(ctx context.Context, req *request) (any, error) {
	name, err := req.required("GroupName", "groupName")
	if err != nil {
		return nil, err
	}
	g, err := h.id.GetGroup(ctx, name)
	if err != nil {
		return nil, err
	}
	members, err := h.id.GroupMembers(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	out := getGroupResult{Group: toXMLGroup(g), Users: []xmlUser{}}
	for i := range members {
		out.Users = append(out.Users, toXMLUser(&members[i]))
	}
	return out, nil
}

func (h *Handler) deleteGroup(ctx context.Context, req *request) (any, error) {
	name, err := req.required("GroupName", "groupName")
	if err != nil {
		return nil, err
	}
	return nil, h.id.DeleteGroup(ctx, name)
}

func membershipParams(req *request) (group, user string, err error) {
	if group, err = req.required("GroupName", "groupName"); err != nil {
		return "", "", err
	}
	if user, err = req.required("UserName", "userName"); err != nil {
		return "", "", err
	}
	return group, user, nil
}

func (h *Handler) addUserToGroup(ctx context.Context, req *request) (any, error) {
	group, user, err := membershipParams(req)
	if err != nil {
		return nil, err
	}
	return nil, h.id.AddUserToGroup(ctx, group, user)
}

func (h *Handler) removeUserFromGroup(ctx context.Context, req *request) (any, error) {
	group, user, err := membershipParams(req)
	if err != nil {
		return nil, err
	}
	return nil, h.id.RemoveUserFromGroup(ctx, group, user)
}

func (h *Handler) putGroupPolicy(ctx context.Context, req *request) (any, error) {
	group, name, doc, err := policyParams(req, "GroupName", "groupName", true)
	if err != nil {
		return nil, err
	}
	return nil, h.id.PutGroupPolicy(ctx, group, name, doc)
}

func (h *Handler) deleteGroupPolicy(ctx context.Context, req *request) (any, error) {
	group, name, _, err := policyParams(req, "GroupName", "groupName", false)
	if err != nil {
		return nil, err
	}
	return nil, h.id.DeleteGroupPolicy(ctx, group, name)
}

// STS.

type getCallerIdentityResult struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

func (h *Handler) getCallerIdentity(_ context.Context, req *request) (any, error) {
	p := req.principal
	return getCallerIdentityResult{UserID: p.UserID, Account: p.AccountID, Arn: p.ARN}, nil
}
