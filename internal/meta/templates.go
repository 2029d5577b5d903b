package meta

import (
	"context"
	"time"
)

// CreationTemplate is an ECR repository creation template. Document is an
// opaque JSON document owned by the core (applied-for list, settings, policy
// texts), so adding a field needs no schema migration.
type CreationTemplate struct {
	Prefix    string
	Document  []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TemplateQueries are the metadata operations of repository creation templates.
type TemplateQueries interface {
	CreateCreationTemplate(ctx context.Context, t *CreationTemplate) error             // ErrExists
	GetCreationTemplate(ctx context.Context, prefix string) (*CreationTemplate, error) // ErrNotFound
	UpdateCreationTemplate(ctx context.Context, t *CreationTemplate) error             // ErrNotFound; keeps CreatedAt
	DeleteCreationTemplate(ctx context.Context, prefix string) error                   // ErrNotFound
	// ListCreationTemplates returns up to limit templates ordered by prefix
	// after the given prefix; limit <= 0 means all.
	ListCreationTemplates(ctx context.Context, after string, limit int) ([]CreationTemplate, error)
}
