package authz

import (
	"context"
	"log/slog"
	"strings"
)

// Event is one audit record: a denied decision, or a mutating call that was
// allowed. It carries no secret.
type Event struct {
	PrincipalARN string
	AccessKeyID  string // an identifier, not a secret
	Action       string
	Resource     string
	Decision     string // "Allow" or "Deny"
	Reason       string // policy.Reason: NoAllow, ExplicitDeny, Allowed
	RequestID    string
	SourceIP     string
}

// AuditSink receives audit events (a later CloudTrail-like trail plugs in
// here).
type AuditSink func(ctx context.Context, ev Event)

// Audit records ev: the one hook point of the audit trail. Without a Sink it
// writes a structured "audit" log line.
func (a *Authorizer) Audit(ctx context.Context, ev Event) {
	if a.cfg.Sink != nil {
		a.cfg.Sink(ctx, ev)
		return
	}
	level := slog.LevelInfo
	if ev.Decision == "Deny" {
		level = slog.LevelWarn
	}
	a.log.LogAttrs(ctx, level, "audit",
		slog.String("principal_arn", ev.PrincipalARN),
		slog.String("access_key_id", ev.AccessKeyID),
		slog.String("action", ev.Action),
		slog.String("resource", ev.Resource),
		slog.String("decision", ev.Decision),
		slog.String("reason", ev.Reason),
		slog.String("request_id", ev.RequestID),
		slog.String("source_ip", ev.SourceIP),
	)
}

func eventFor(c Check, decision, reason string) Event {
	ev := Event{Action: c.Action, Resource: c.Resource, Decision: decision, Reason: reason, RequestID: c.RequestID}
	if c.Principal != nil {
		ev.PrincipalARN, ev.AccessKeyID = c.Principal.ARN, c.Principal.AccessKeyID
	}
	if c.SourceIP != nil {
		ev.SourceIP = c.SourceIP.String()
	}
	return ev
}

// mutatingPrefixes are the verbs of ECR operations that change state.
var mutatingPrefixes = []string{
	"Put", "Create", "Delete", "Set", "Tag", "Untag", "Update", "Start", "Initiate",
	"Upload", "Complete", "BatchDelete", "BatchImport", "Replicate", "Register", "Deregister",
}

// Mutating reports whether an "ecr:<Operation>" action changes state.
func Mutating(action string) bool {
	op, ok := strings.CutPrefix(action, "ecr:")
	if !ok {
		return false
	}
	for _, p := range mutatingPrefixes {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}
